/**
 * Method ids and contract fingerprints (see docs/codegen.md, "Versioning").
 *
 * A fingerprint is a hash of the canonical form of what a method's peers must agree on: its kind
 * and the shapes of its request and response. The canonical form is structural (type names,
 * field order, union order and comments do not matter) and, in the default `strip` mode, it
 * covers required fields only, so that adding or removing an optional field keeps it equal.
 */
import { createHash } from 'node:crypto';
import { declById, type Decl, type MethodModel, type Shape, type UnknownKeys } from './model.js';

/** Version of the canonical form; part of every fingerprint, bumped if the form ever changes. */
export const CANONICAL_VERSION = 'fp1';

function canon(decls: readonly Decl[], shape: Shape, mode: UnknownKeys, stack: number[]): string {
  switch (shape.kind) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'null':
    case 'undefined':
    case 'date':
      return shape.kind;
    case 'bytes':
      return 'bytes'; // Buffer and Uint8Array are the same bytes on the wire
    case 'literal':
      return typeof shape.value === 'string' ? JSON.stringify(shape.value) : `${typeof shape.value}:${String(shape.value)}`;
    case 'array':
      return `array<${canon(decls, shape.item, mode, stack)}>`;
    case 'tuple': {
      const items = shape.items.map((s, i) => `${i < shape.required ? '' : '?'}${canon(decls, s, mode, stack)}`);
      if (shape.rest) items.push(`...${canon(decls, shape.rest, mode, stack)}`);
      return `tuple<${items.join(',')}>`;
    }
    case 'record':
      return `record<${canon(decls, shape.value, mode, stack)}>`;
    case 'union':
      return `union<${[...new Set(shape.members.map((m) => canon(decls, m, mode, stack)))].sort().join('|')}>`;
    case 'ref': {
      // Recursion: a back-reference to an enclosing decl, counted from the innermost (de Bruijn).
      const at = stack.lastIndexOf(shape.id);
      if (at >= 0) return `#${stack.length - 1 - at}`;
      const d = declById(decls, shape.id);
      stack.push(shape.id);
      let out: string;
      if (d.body.kind === 'alias') out = canon(decls, d.body.shape, mode, stack);
      else {
        const fields = d.body.fields
          .filter((f) => mode === 'reject' || !f.optional)
          .map((f) => `${JSON.stringify(f.name)}${f.optional ? '?' : ''}:${canon(decls, f.shape, mode, stack)}`)
          .sort();
        out = `{${fields.join(',')}}`;
      }
      stack.pop();
      return out;
    }
    case 'error':
      throw new Error('codegen: cannot fingerprint a type that failed to read');
  }
}

/** The canonical text of a shape (exported for tests and `--explain`). */
export function canonicalShape(decls: readonly Decl[], shape: Shape, mode: UnknownKeys = 'strip'): string {
  return canon(decls, shape, mode, []);
}

export function canonicalMethod(decls: readonly Decl[], m: MethodModel, mode: UnknownKeys = 'strip'): string {
  return `${CANONICAL_VERSION};${m.kind};${canonicalShape(decls, m.request, mode)};${canonicalShape(decls, m.response, mode)}`;
}

/** 16 hex digits (64 bits) of SHA-256 over the canonical form. */
export function methodFingerprint(decls: readonly Decl[], m: MethodModel, mode: UnknownKeys = 'strip'): string {
  return createHash('sha256').update(canonicalMethod(decls, m, mode)).digest('hex').slice(0, 16);
}

/**
 * The method id: FNV-1a (32-bit) of the wire name `Service.method`, in 1..2^31-1. It depends on
 * the name only, so adding, removing or reordering other methods never changes it; `@id N` pins
 * it (to keep an id across a rename, or to resolve a collision, which codegen reports).
 */
export function methodId(service: string, method: string): number {
  let h = 0x811c9dc5;
  const s = `${service}.${method}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h & 0x7fffffff) || 1;
}
