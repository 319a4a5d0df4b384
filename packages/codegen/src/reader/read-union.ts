/**
 * Unions. A validator must tell the members apart by what it sees at run time: each member has
 * its own runtime kind (string, number, array, object...), except that object members may share
 * the kind when one literal property (the discriminant) tells them apart.
 */
import ts from 'typescript';
import { resolveShape, type Decl, type Shape } from '../model.js';
import type { Site, TypeReader } from './read-type.js';

/** The runtime kind a validator tells a union member apart by. */
export type RuntimeKind = 'string' | 'number' | 'boolean' | 'bigint' | 'null' | 'undefined' | 'date' | 'bytes' | 'array' | 'object' | 'other';

export function runtimeKind(decls: readonly Decl[], shape: Shape): RuntimeKind {
  const s = resolveShape(decls, shape);
  switch (s.kind) {
    case 'literal':
      return typeof s.value as 'string' | 'number' | 'boolean';
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'null':
    case 'undefined':
    case 'date':
    case 'bytes':
      return s.kind;
    case 'array':
    case 'tuple':
      return 'array';
    case 'record':
    case 'ref':
      return 'object';
    default:
      return 'other';
  }
}

/** The literal values a field admits, when it admits only literals. */
export function literalValues(shape: Shape): Array<string | number | boolean> | undefined {
  if (shape.kind === 'literal') return [shape.value];
  if (shape.kind === 'boolean') return [false, true];
  if (shape.kind === 'union' && shape.members.every((m) => m.kind === 'literal')) return shape.members.map((m) => (m as { value: string | number | boolean }).value);
  return undefined;
}

const key = (s: Shape): string => JSON.stringify(s);

/** Finds a required literal property that every object member has, with disjoint values. */
function findDiscriminant(decls: readonly Decl[], members: Shape[]): string | undefined {
  const objects = members.map((m) => (m.kind === 'ref' ? decls[m.id] : undefined));
  if (objects.some((d) => !d || d.body.kind !== 'object')) return undefined;
  const first = objects[0]!.body as { kind: 'object'; fields: Array<{ name: string; shape: Shape; optional: boolean }> };
  for (const candidate of first.fields) {
    const seen = new Set<string>();
    let ok = true;
    for (const d of objects) {
      const f = (d!.body as typeof first).fields.find((x) => x.name === candidate.name);
      const values = f && !f.optional ? literalValues(f.shape) : undefined;
      if (!values) {
        ok = false;
        break;
      }
      for (const v of values) {
        const k = JSON.stringify(v);
        if (seen.has(k)) ok = false;
        seen.add(k);
      }
      if (!ok) break;
    }
    if (ok) return candidate.name;
  }
  return undefined;
}

export function readUnion(r: TypeReader, type: ts.UnionType, site: Site): Shape {
  const c = r.checker;
  let types = type.types;
  const isTrue = (t: ts.Type): boolean => !!(t.flags & ts.TypeFlags.BooleanLiteral) && c.typeToString(t) === 'true';
  const isFalse = (t: ts.Type): boolean => !!(t.flags & ts.TypeFlags.BooleanLiteral) && c.typeToString(t) === 'false';
  const members: Shape[] = [];
  if (types.some(isTrue) && types.some(isFalse)) {
    members.push({ kind: 'boolean' });
    types = types.filter((t) => !isTrue(t) && !isFalse(t));
  }
  // Anonymous members are named after the union's alias (or the site), numbered when there are several.
  const base = type.aliasSymbol?.getName() ?? site.hint;
  const isObj = (t: ts.Type): boolean => (t.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) !== 0;
  const objectCount = types.filter((t) => isObj(t) && !c.isArrayType(t) && !c.isTupleType(t)).length;
  let objectIndex = 0;
  for (const t of types) {
    const hint = isObj(t) && objectCount > 1 ? `${base}${++objectIndex}` : base;
    const s = r.read(t, { node: site.node, where: site.where, hint });
    if (s.kind === 'error') return s;
    if (s.kind === 'union') members.push(...s.members);
    else members.push(s);
  }
  const seen = new Set<string>();
  const unique = members.filter((m) => {
    const k = key(m);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if (unique.length === 1) return unique[0]!;

  const byKind = new Map<RuntimeKind, Shape[]>();
  for (const m of unique) {
    const k = runtimeKind(r.decls, m);
    byKind.set(k, [...(byKind.get(k) ?? []), m]);
  }
  const arrays = byKind.get('array') ?? [];
  if (arrays.length > 1) {
    return r.fail(site, 'ambiguous-union', `${site.where} is a union of ${arrays.length} array or tuple types, which a validator cannot tell apart`, 'use one array type whose item is a union, or wrap each in an object with a literal kind property');
  }
  if ((byKind.get('bytes') ?? []).length > 1) {
    return r.fail(site, 'ambiguous-union', `${site.where} is a union of Buffer and Uint8Array, which arrive as the same bytes`, 'use one of them');
  }
  const objects = byKind.get('object') ?? [];
  let discriminant: string | undefined;
  if (objects.length > 1) {
    discriminant = findDiscriminant(r.decls, objects);
    if (!discriminant) {
      return r.fail(
        site,
        'ambiguous-union',
        `${site.where} is a union of ${objects.length} object types without a common literal property that tells them apart`,
        "make it a discriminated union: give each member a property like kind: 'a' with a different literal",
      );
    }
  }
  const sym = type.getSymbol();
  const label = type.aliasSymbol && !type.aliasTypeArguments?.length ? type.aliasSymbol.getName() : sym && sym.flags & ts.SymbolFlags.Enum ? sym.getName() : undefined;
  const labelled = label ? { label } : {};
  if (!discriminant) return { kind: 'union', members: unique, ...labelled };
  for (const m of objects) {
    const d = r.decls[(m as { id: number }).id]!;
    const f = d.body.kind === 'object' ? d.body.fields.find((x) => x.name === discriminant) : undefined;
    if (f?.shape.kind === 'literal') r.rename(d.id, `${base}_${String(f.shape.value)}`);
  }
  return { kind: 'union', members: unique, discriminant, ...labelled };
}
