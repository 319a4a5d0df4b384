// A contract that uses every type codegen supports. The golden output is in golden/ (npm run gen
// regenerates it; golden.test.ts fails when it is stale).
import type { Stream, Topic } from '@fastpath/core';

export enum Color {
  Red,
  Green,
  Blue,
}

export enum Level {
  Low = 'low',
  High = 'high',
}

export type Status = 'pending' | 'paid' | 'shipped';
export type Priority = 1 | 2 | 3;
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface Money {
  amount: number;
  currency: string;
}

export interface LineItem {
  sku: string;
  quantity: number;
  price: Money;
  note?: string;
}

/** A discriminated union. */
export type Shape = { kind: 'circle'; radius: number } | { kind: 'square'; side: number } | { kind: 'rect'; width: number; height: number };

export interface TreeNode {
  label: string;
  children: TreeNode[];
}

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface Everything {
  text: string;
  count: number;
  flag: boolean;
  big: bigint;
  nothing: null;
  absent?: string;
  maybe: number | undefined;
  bytes: Uint8Array;
  buffer: Buffer;
  when: Date;
  tags: string[];
  matrix: number[][];
  pair: [string, number];
  optTuple: [string, number?];
  restTuple: [string, ...number[]];
  money: Money;
  status: Status;
  priority: Priority;
  day: Weekday;
  color: Color;
  level: Level;
  yes: true;
  scores: Record<string, number>;
  shape: Shape;
  tree: TreeNode;
  json: Json;
  page: Page<LineItem>;
  nullable: string | null;
  mixed: string | number | Money | null;
  frozen: readonly string[];
  inline: { a: string; b?: { c: boolean } };
  rated: Money & { rate: number };
  /** Shares its name with Object.prototype.constructor: read as an own property only. */
  constructor?: string;
}

/** Every call shape and a topic. */
export interface Catalog {
  /** Echoes everything back. */
  echo(req: Everything): Everything;
  /** No request. */
  ping(): { ok: true };
  /** @idempotent */
  getItem(req: { sku: string }): Promise<LineItem | null>;
  /** A server stream. */
  list(req: { color?: Color }): Stream<LineItem>;
  /** A client stream. */
  upload(items: Stream<LineItem>): { count: number };
  /** A bidirectional stream. */
  chat(messages: Stream<{ text: string }>): Stream<{ text: string; at: Date }>;
  /** No response. */
  remove(req: { sku: string }): void;
  /**
   * An optional request and a primitive response.
   * @id 42
   */
  pinned(req?: { hint?: string }): number;
  updates: Topic<{ sku: string; stock: number }>;
}

/** A second service in the same file. */
export interface Ledger {
  total(req: { currency: string }): Money;
}
