// Variants of one method `m`, each in its own service: fingerprint.test.ts compares their
// fingerprints. Base is the reference; the comment on each says whether it must match.
import type { Stream } from '@fastpath/core';

export interface Item {
  sku: string;
  qty: number;
}
export interface Line {
  qty: number;
  sku: string;
}
export interface Tree {
  label: string;
  kids: Tree[];
}
export interface Node {
  kids: Node[];
  label: string;
}
export interface LabelledTree {
  label: string;
  kids: LabelledTree[];
  depth: number;
}
export enum Flag {
  Off,
  On,
}

export interface Base {
  m(req: { id: string; qty: number; note?: string; flag: 0 | 1; tree: Tree }): { ok: boolean; items: Item[] };
}
/** Same: optional fields added on both sides. */
export interface AddOptional {
  m(req: { id: string; qty: number; note?: string; tag?: string; flag: 0 | 1; tree: Tree }): { ok: boolean; items: Item[]; more?: Item[] };
}
/** Same: an optional field removed. */
export interface RemoveOptional {
  m(req: { id: string; qty: number; flag: 0 | 1; tree: Tree }): { ok: boolean; items: Item[] };
}
/** Same: fields reordered, types renamed, union reordered, a literal union written as an enum. */
export interface Renamed {
  m(req: { tree: Node; flag: Flag; qty: number; id: string }): { items: Line[]; ok: boolean };
}
/** Different: a required field added. */
export interface AddRequired {
  m(req: { id: string; qty: number; shop: string; flag: 0 | 1; tree: Tree }): { ok: boolean; items: Item[] };
}
/** Different: a required field made optional. */
export interface MadeOptional {
  m(req: { id: string; qty?: number; flag: 0 | 1; tree: Tree }): { ok: boolean; items: Item[] };
}
/** Different: a required field's type changed. */
export interface ChangedType {
  m(req: { id: string; qty: string; flag: 0 | 1; tree: Tree }): { ok: boolean; items: Item[] };
}
/** Different: a literal added to a union. */
export interface WiderUnion {
  m(req: { id: string; qty: number; flag: 0 | 1 | 2; tree: Tree }): { ok: boolean; items: Item[] };
}
/** Different: a required field added inside a recursive type. */
export interface DeeperChange {
  m(req: { id: string; qty: number; flag: 0 | 1; tree: LabelledTree }): { ok: boolean; items: Item[] };
}
/** Different: the response changed. */
export interface ChangedResponse {
  m(req: { id: string; qty: number; flag: 0 | 1; tree: Tree }): { ok: boolean; items: Item[]; total: number };
}
/** Different: the same messages, streamed. */
export interface Streamed {
  m(req: { id: string; qty: number; flag: 0 | 1; tree: Tree }): Stream<{ ok: boolean; items: Item[] }>;
}
