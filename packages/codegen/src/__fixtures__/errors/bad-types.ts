// Every codegen error about types, each on a line marked `// error: <code>`. errors.test.ts
// expects exactly these diagnostics, at these lines. The file is valid TypeScript.
import type { Stream } from '@fastpath/core';

export class Account {
  id = '';
  close(): void {}
}

export interface WithMethod {
  id: string;
  refresh(): void; // error: class
}

export interface Payloads {
  a: any; // error: any
  u: unknown; // error: unknown
  o: object; // error: unknown
  callback: () => void; // error: function
  account: Account; // error: class
  withMethod: WithMethod;
  map: Map<string, number>; // error: unsupported
  sym: symbol; // error: unsupported
  id: `id-${string}`; // error: unsupported
  branded: string & { __brand: 'Id' }; // error: unsupported
  byIndex: { [i: number]: string }; // error: unsupported
  promise: Promise<string>; // error: unsupported
  either: { a: string } | { b: number }; // error: ambiguous-union
  lists: string[] | number[]; // error: ambiguous-union
  nested: Stream<number>; // error: stream-position
  holes: (string | undefined)[]; // error: undefined-element
  '__proto__': string; // error: reserved-name
}

export interface Types {
  check(req: Payloads): void;
}

export interface Shapes {
  two(a: { x: number }, b: { y: number }): void; // error: method-shape
  over(req: string): string; // error: method-shape
  over(req: number): number;
  version: string; // error: method-shape
  'not-an-identifier'(): void; // error: method-shape
  generic<T>(req: T): T; // error: generic
  /** @id abc */
  badTag(): void; // error: bad-tag
}

export interface Generic<T> { // error: generic
  get(req: T): T;
}

interface Hidden { // error: not-exported
  ping(): void;
}
