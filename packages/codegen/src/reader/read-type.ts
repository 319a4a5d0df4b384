/**
 * ts.Type -> Shape. Every type the wire cannot carry is reported at the declaration that uses it,
 * with a hint; nothing becomes a silent `unknown`.
 */
import ts from 'typescript';
import type { Decl, Field, Shape } from '../model.js';
import type { DiagnosticCode } from '../errors.js';
import type { Diagnostics } from './diagnose.js';
import { readUnion } from './read-union.js';

/** Where a type is being read: the node errors point at, how messages name it, a name for anonymous objects. */
export interface Site {
  node: ts.Node;
  where: string;
  hint: string;
}

const MAX_TYPE_NESTING = 64;

const BUILTIN_HINTS: Record<string, string> = {
  Map: 'use Record<string, T> (keys travel as strings), or an array of [key, value] tuples',
  Set: 'use an array',
  Promise: 'a Promise is not data: only a method may return one; use the awaited type here',
  ArrayBuffer: 'use Uint8Array',
  SharedArrayBuffer: 'use Uint8Array',
  DataView: 'use Uint8Array',
  AsyncIterable: 'a stream is Stream<T> from @fastpath/core, as a method parameter or return type',
  AsyncIterator: 'a stream is Stream<T> from @fastpath/core, as a method parameter or return type',
  AsyncGenerator: 'a stream is Stream<T> from @fastpath/core, as a method parameter or return type',
  Iterable: 'use an array',
  RegExp: 'send the pattern as a string',
  Error: 'send the fields you need (message, code) as an interface',
  Function: 'send data; if the peer must run code, make it a method of the service',
  Symbol: 'symbols cannot cross the wire',
};

export const pascal = (s: string): string => s.replace(/(^|[^A-Za-z0-9])([a-z])/g, (_m, _p, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9_$]/g, '');

export const ident = (s: string): string => s.replace(/[^A-Za-z0-9_$]+/g, '_').replace(/^_+|_+$/g, '') || 'T';

export function shapeHasUndefined(s: Shape): boolean {
  return s.kind === 'undefined' || (s.kind === 'union' && s.members.some((m) => m.kind === 'undefined'));
}

/** Splits `T | undefined` into T and whether undefined was there. */
export function withoutUndefined(s: Shape): { shape: Shape; had: boolean } {
  if (s.kind !== 'union' || !s.members.some((m) => m.kind === 'undefined')) return { shape: s, had: s.kind === 'undefined' };
  const rest = s.members.filter((m) => m.kind !== 'undefined');
  const shape: Shape = rest.length === 1 ? rest[0]! : { ...s, members: rest };
  return { shape, had: true };
}

export class TypeReader {
  readonly decls: Decl[] = [];
  private readonly declOf = new Map<ts.Type, number>();
  private readonly inProgress = new Map<ts.Type, { id: number | undefined }>();
  private readonly names = new Set<string>();
  private nesting = 0;

  constructor(
    readonly checker: ts.TypeChecker,
    readonly program: ts.Program,
    readonly diags: Diagnostics,
  ) {}

  fail(site: Site, code: DiagnosticCode, message: string, hint?: string): Shape {
    this.diags.at(site.node, code, message, hint);
    return { kind: 'error' };
  }

  read(type: ts.Type, site: Site): Shape {
    const done = this.declOf.get(type);
    if (done !== undefined) return { kind: 'ref', id: done };
    const pending = this.inProgress.get(type);
    if (pending) {
      // A structured alias refers to itself (`type Json = string | Json[]`): it becomes a decl.
      pending.id ??= this.newDecl(type, site, { kind: 'alias', shape: { kind: 'error' } });
      return { kind: 'ref', id: pending.id };
    }
    if (this.nesting >= MAX_TYPE_NESTING) {
      return this.fail(site, 'unsupported', `${site.where} nests more than ${MAX_TYPE_NESTING} types deep`, 'an infinitely expanding generic? make the recursion go through one named type');
    }
    const entry: { id: number | undefined } = { id: undefined };
    this.inProgress.set(type, entry);
    this.nesting++;
    let shape: Shape;
    try {
      shape = this.readUncached(type, site);
    } finally {
      this.nesting--;
      this.inProgress.delete(type);
    }
    if (entry.id === undefined) return shape;
    this.decls[entry.id]!.body = { kind: 'alias', shape };
    this.declOf.set(type, entry.id);
    return { kind: 'ref', id: entry.id };
  }

  private readUncached(type: ts.Type, site: Site): Shape {
    const F = ts.TypeFlags;
    const f = type.flags;
    const c = this.checker;
    const text = (): string => c.typeToString(type);
    if (f & F.Any) return this.fail(site, 'any', `${site.where} is any`, 'give it a concrete type: a validator cannot check any');
    if (f & F.Unknown) return this.fail(site, 'unknown', `${site.where} is unknown`, 'give it a concrete type, or a union of the types it can be');
    if (f & F.Never) return this.fail(site, 'unknown', `${site.where} is never`, 'no value has type never: give it a concrete type');
    if (f & F.TypeParameter) {
      return this.fail(site, 'generic', `${site.where} has the type parameter ${text()}, which codegen cannot resolve`, 'contracts need concrete types: instantiate the generic (Page<Order>) or write the type out');
    }
    if (f & F.Boolean) return { kind: 'boolean' };
    if (f & F.Union) return readUnion(this, type as ts.UnionType, site);
    if (f & F.String) return { kind: 'string' };
    if (f & F.Number) return { kind: 'number' };
    if (f & F.BigInt) return { kind: 'bigint' };
    if (f & F.Null) return { kind: 'null' };
    if (f & (F.Undefined | F.Void)) return { kind: 'undefined' };
    if (f & F.StringLiteral) return { kind: 'literal', value: (type as ts.StringLiteralType).value };
    if (f & F.NumberLiteral) return { kind: 'literal', value: (type as ts.NumberLiteralType).value };
    if (f & F.BooleanLiteral) return { kind: 'literal', value: text() === 'true' };
    if (f & F.BigIntLiteral) return this.fail(site, 'unsupported', `${site.where} is the bigint literal ${text()}`, 'use bigint, or a number literal');
    if (f & (F.ESSymbol | F.UniqueESSymbol)) return this.fail(site, 'unsupported', `${site.where} is a symbol`, 'symbols cannot cross the wire: use a string');
    if (f & (F.TemplateLiteral | F.StringMapping)) {
      return this.fail(site, 'unsupported', `${site.where} is the template literal type ${text()}`, 'use string, or a union of string literals');
    }
    if (f & F.NonPrimitive) return this.fail(site, 'unknown', `${site.where} is object, which says nothing about its fields`, 'describe it with an interface, or use Record<string, T>');
    if (f & F.Intersection) {
      if ((type as ts.IntersectionType).types.some((t) => !(t.flags & F.Object))) {
        return this.fail(site, 'unsupported', `${site.where} intersects a primitive with an object type (${text()})`, 'branded primitives are not supported: use the plain primitive');
      }
      return this.readObject(type, site);
    }
    if (f & F.Object) return this.readObjectType(type as ts.ObjectType, site);
    if (f & (F.Index | F.IndexedAccess | F.Conditional | F.Substitution)) {
      return this.fail(site, 'generic', `${site.where} has the type ${text()}, which codegen cannot resolve to a concrete type`, 'contracts need concrete types: write the type out');
    }
    return this.fail(site, 'unsupported', `${site.where} has the type ${text()}, which the wire cannot carry`);
  }

  /** Declared in TypeScript's lib or in @types/node. */
  isBuiltin(sym: ts.Symbol | undefined): boolean {
    return (
      sym?.declarations?.some((d) => {
        const sf = d.getSourceFile();
        return this.program.isSourceFileDefaultLibrary(sf) || /[\\/]node_modules[\\/]@types[\\/]node[\\/]/.test(sf.fileName);
      }) ?? false
    );
  }

  /** `Stream<T>` or `Topic<T>` from @fastpath/core (recognized by their marker property): T, else undefined. */
  marker(type: ts.Type, which: 'Stream' | 'Topic'): ts.Type | undefined {
    if (!(type.flags & ts.TypeFlags.Object) || type.getSymbol()?.getName() !== which) return undefined;
    if (!this.checker.getPropertyOfType(type, which === 'Stream' ? '__stream' : '__topic')) return undefined;
    if (!((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference)) return undefined;
    return this.checker.getTypeArguments(type as ts.TypeReference)[0];
  }

  private readObjectType(type: ts.ObjectType, site: Site): Shape {
    const c = this.checker;
    const sym = type.getSymbol();
    const name = sym?.getName() ?? '';
    if (this.marker(type, 'Stream') || this.marker(type, 'Topic')) {
      return this.fail(site, 'stream-position', `${site.where} is a ${name}<T>, which may only be a method's parameter or return type (Stream) or a service property (Topic)`, 'send the data itself here');
    }
    if (c.isTupleType(type)) return this.readTuple(type as ts.TupleTypeReference, site);
    if (c.isArrayType(type)) {
      const item = this.read(c.getTypeArguments(type as ts.TypeReference)[0]!, { node: site.node, where: `${site.where}[]`, hint: `${site.hint}Item` });
      if (shapeHasUndefined(item)) return this.undefinedElement(site);
      return { kind: 'array', item };
    }
    if (sym && !name.startsWith('__') && this.isBuiltin(sym)) {
      if (name === 'Date') return { kind: 'date' };
      if (name === 'Uint8Array') return { kind: 'bytes', buffer: false };
      if (name === 'Buffer') return { kind: 'bytes', buffer: true };
      const hint = BUILTIN_HINTS[name] ?? (/Array$/.test(name) ? 'use Uint8Array for bytes, or number[]' : undefined);
      return this.fail(site, name === 'Function' ? 'function' : 'unsupported', `${site.where} is a ${c.typeToString(type)}, which the wire cannot carry`, hint);
    }
    if (c.getSignaturesOfType(type, ts.SignatureKind.Call).length > 0 || c.getSignaturesOfType(type, ts.SignatureKind.Construct).length > 0) {
      return this.fail(site, 'function', `${site.where} is a function: functions cannot cross the wire`, 'send data; if the peer must run code, make it a method of the service');
    }
    if (sym && sym.flags & ts.SymbolFlags.Class) {
      return this.fail(site, 'class', `${site.where} is an instance of class ${name}: the receiver would get a plain object without its prototype or methods`, 'describe the data with an interface');
    }
    return this.readObject(type, site);
  }

  undefinedElement(site: Site): Shape {
    return this.fail(site, 'undefined-element', `${site.where} holds undefined inside an array or tuple, which MessagePack turns into null`, 'use null for a missing element');
  }

  private readTuple(type: ts.TupleTypeReference, site: Site): Shape {
    const args = this.checker.getTypeArguments(type);
    const flags = type.target.elementFlags;
    const items: Shape[] = [];
    let required = 0;
    let rest: Shape | undefined;
    for (let i = 0; i < flags.length; i++) {
      const fl = flags[i]!;
      const s = this.read(args[i]!, { node: site.node, where: `${site.where}[${i}]`, hint: `${site.hint}${i}` });
      if (fl & ts.ElementFlags.Variadic || (rest && !(fl & ts.ElementFlags.Rest))) {
        return this.fail(site, 'unsupported', `${site.where} is a tuple with elements after a rest element`, 'put the rest element last');
      }
      const { shape, had } = withoutUndefined(s);
      if (had && !(fl & ts.ElementFlags.Optional)) return this.undefinedElement(site);
      if (fl & ts.ElementFlags.Rest) rest = shape;
      else items.push(shape);
      if (fl & ts.ElementFlags.Required) required = items.length;
    }
    return rest ? { kind: 'tuple', items, required, rest } : { kind: 'tuple', items, required };
  }

  private nameFor(type: ts.Type, hint: string): { name: string; label: string } {
    const c = this.checker;
    let base: string | undefined;
    let args: readonly ts.Type[] = [];
    if (type.aliasSymbol) {
      base = type.aliasSymbol.getName();
      args = type.aliasTypeArguments ?? [];
    } else {
      const sym = type.getSymbol();
      if (sym && !sym.getName().startsWith('__')) {
        base = sym.getName();
        if ((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) {
          const ref = type as ts.TypeReference;
          args = c.getTypeArguments(ref).slice(0, ref.target.typeParameters?.length ?? 0);
        }
      }
    }
    let name = base ? ident([base, ...args.map((a) => c.typeToString(a))].join('_')) : ident(hint);
    if (this.names.has(name)) {
      let n = 2;
      while (this.names.has(`${name}_${n}`)) n++;
      name = `${name}_${n}`;
    }
    this.names.add(name);
    return { name, label: base ? c.typeToString(type) : 'object' };
  }

  /** Renames an anonymous decl (e.g. a union variant, once its discriminant is known). */
  rename(id: number, wanted: string): void {
    const d = this.decls[id]!;
    const name = ident(wanted);
    if (d.label !== 'object' || this.names.has(name)) return;
    this.names.delete(d.name);
    this.names.add(name);
    d.name = name;
  }

  private newDecl(type: ts.Type, site: Site, body: Decl['body']): number {
    const { name, label } = this.nameFor(type, site.hint);
    const id = this.decls.length;
    this.decls.push({ id, name, label, body });
    return id;
  }

  /** An object type: interface, type literal, intersection, mapped type. Always a decl (its own check function). */
  private readObject(type: ts.Type, site: Site): Shape {
    const c = this.checker;
    const id = this.newDecl(type, site, { kind: 'object', fields: [] });
    this.declOf.set(type, id);
    const decl = this.decls[id]!;
    const where = decl.label === 'object' ? site.where : decl.label;
    const props = c.getPropertiesOfType(type);
    const indexInfos = c.getIndexInfosOfType(type);
    if (indexInfos.length > 0) {
      const info = indexInfos[0]!;
      if (props.length > 0) {
        decl.body = { kind: 'alias', shape: this.fail(site, 'unsupported', `${where} has both named properties and an index signature`, 'move the open-ended part into a Record<string, T> field') };
      } else if (indexInfos.length > 1 || !(info.keyType.flags & ts.TypeFlags.String)) {
        decl.body = { kind: 'alias', shape: this.fail(site, 'unsupported', `${where} has a ${c.typeToString(info.keyType)} index signature: only string keys cross the wire`, 'use Record<string, T>, or an array') };
      } else {
        const node = info.declaration && !this.inLib(info.declaration) ? info.declaration : site.node;
        const value = this.read(info.type, { node, where: `${where}[string]`, hint: `${decl.name}Value` });
        decl.body = { kind: 'alias', shape: { kind: 'record', value } };
      }
      return { kind: 'ref', id };
    }
    const fields: Field[] = [];
    for (const p of props) {
      const name = p.getName();
      const d = p.valueDeclaration ?? p.declarations?.[0];
      const node = d && !this.inLib(d) ? d : site.node;
      const fsite: Site = { node, where: `${where}.${name}`, hint: `${decl.name}${pascal(name)}` };
      if (name.startsWith('__@')) {
        this.fail(fsite, 'unsupported', `${where} has a symbol-keyed property`, 'symbols cannot cross the wire: use a string key');
        continue;
      }
      if (name === '__proto__') {
        this.fail(fsite, 'reserved-name', `${where} has a property named __proto__`, "rename it: __proto__ is how JavaScript reaches an object's prototype, and the codec renames it");
        continue;
      }
      if (p.flags & ts.SymbolFlags.Method) {
        this.fail(fsite, 'class', `${where}.${name} is a method: data types cannot have methods`, 'remove it, or describe the data with an interface of plain fields');
        continue;
      }
      const { shape, had } = withoutUndefined(this.read(c.getTypeOfSymbol(p), fsite));
      fields.push({ name, shape, optional: had || (p.flags & ts.SymbolFlags.Optional) !== 0 });
    }
    decl.body = { kind: 'object', fields };
    return { kind: 'ref', id };
  }

  private inLib(node: ts.Node): boolean {
    const sf = node.getSourceFile();
    return this.program.isSourceFileDefaultLibrary(sf) || sf.fileName.includes('/node_modules/');
  }
}
