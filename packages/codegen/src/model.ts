/**
 * The codegen's model of a contract: what the reader extracts from the TypeScript program and
 * what the emitters and the fingerprint work from. It knows nothing of the compiler API.
 */

/** A wire type. Object types (and named aliases that can recurse) live in the decl table and are referenced by id. */
export type Shape =
  | { kind: 'string' | 'number' | 'boolean' | 'bigint' | 'null' | 'undefined' | 'date' }
  | { kind: 'bytes'; buffer: boolean }
  | { kind: 'literal'; value: string | number | boolean }
  | { kind: 'array'; item: Shape }
  | { kind: 'tuple'; items: Shape[]; required: number; rest?: Shape }
  | { kind: 'record'; value: Shape }
  /** `label`: the alias or enum name, for messages only (never part of a fingerprint). */
  | { kind: 'union'; members: Shape[]; discriminant?: string; label?: string }
  | { kind: 'ref'; id: number }
  /** Placeholder after an error was reported: the output is never written when one exists. */
  | { kind: 'error' };

export interface Field {
  name: string;
  shape: Shape;
  /** `a?: T` or `a: T | undefined`: the key may be missing. */
  optional: boolean;
}

/** A declared type: an object (interface, type literal, intersection) or a named alias of a structured type. */
export interface Decl {
  id: number;
  /** A unique identifier-safe name in the output, e.g. `Order`, `Page_Order`, `PlaceOrderRequest`. */
  name: string;
  /** How messages name it: the TypeScript name, or `object` for an anonymous type literal. */
  label: string;
  /** Set once the reader has resolved it (recursion refers to it before). */
  body: { kind: 'object'; fields: Field[] } | { kind: 'alias'; shape: Shape };
}

export type MethodKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

export interface MethodModel {
  name: string;
  kind: MethodKind;
  /** The request (each message, for streamed requests). `undefined` when the method takes none. */
  request: Shape;
  /** The response (each message, for streamed responses). */
  response: Shape;
  /** The method takes no parameter: the client stub has no request argument. */
  noRequest: boolean;
  /** JSDoc `@idempotent`. */
  idempotent: boolean;
  /** JSDoc `@id N`, pinning the method id. */
  pinnedId: number | undefined;
  /** JSDoc text of the method, carried to the generated client and handler. */
  doc: string | undefined;
}

export interface TopicModel {
  name: string;
  message: Shape;
  doc: string | undefined;
}

export interface ServiceModel {
  name: string;
  /** The contract file that declares it (absolute). */
  file: string;
  methods: MethodModel[];
  topics: TopicModel[];
  doc: string | undefined;
}

/** What the reader produced for a set of contract files. */
export interface ContractModel {
  services: ServiceModel[];
  decls: Decl[];
}

/** How validators treat object keys the contract does not declare. */
export type UnknownKeys = 'strip' | 'reject';

export function declById(decls: readonly Decl[], id: number): Decl {
  const d = decls[id];
  if (!d || d.id !== id) throw new Error(`codegen: no decl ${id}`);
  return d;
}

/** Follows alias refs to the shape a value is checked against (objects stay refs). */
export function resolveShape(decls: readonly Decl[], shape: Shape, seen = new Set<number>()): Shape {
  if (shape.kind !== 'ref') return shape;
  const d = declById(decls, shape.id);
  if (d.body.kind === 'object' || seen.has(d.id)) return shape;
  seen.add(d.id);
  return resolveShape(decls, d.body.shape, seen);
}
