/**
 * Validators compiled to plain code. Each object type (and each recursive alias) gets a check
 * function `v$Name(v, depth)` that returns undefined when the value is valid and an Issue
 * otherwise; nothing is allocated on the valid path. The first problem found is reported, with its
 * exact path (`items[3].price`) and reason (`expected number, got string`).
 */
import { declById, type Decl, type Shape, type UnknownKeys } from '../model.js';
import { runtimeKind, type RuntimeKind } from '../reader/read-union.js';
import { renderHelpers, type Helper } from './prelude.js';
import { q } from './text.js';

/** Object.prototype members: a field with one of these names is read as an own property only. */
const PROTO_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));
/** Literal unions longer than this are checked against a Set. */
const SET_THRESHOLD = 6;
const KIND_ORDER: RuntimeKind[] = ['string', 'number', 'boolean', 'bigint', 'null', 'undefined', 'date', 'bytes', 'array', 'object', 'other'];

interface Fn {
  lines: string[];
  tmp: number;
  usesE: boolean;
  usesD: boolean;
}

export interface ValidatorOptions {
  unknownKeys: UnknownKeys;
  maxDepth: number;
}

export class ValidatorEmitter {
  private readonly used = new Set<Helper>();
  private readonly wanted = new Set<number>();
  private readonly consts: string[] = [];
  private readonly tops: string[] = [];

  constructor(
    private readonly decls: readonly Decl[],
    private readonly options: ValidatorOptions,
  ) {}

  /** How messages name a type. */
  describe(shape: Shape, seen: ReadonlySet<number> = new Set()): string {
    switch (shape.kind) {
      case 'date':
        return 'Date';
      case 'bytes':
        return shape.buffer ? 'Buffer' : 'Uint8Array';
      case 'literal':
        return typeof shape.value === 'string' ? JSON.stringify(shape.value) : String(shape.value);
      case 'array': {
        const item = this.describe(shape.item, seen);
        return /^[\w".<>-]+$/.test(item) ? `${item}[]` : 'array';
      }
      case 'tuple':
        return 'tuple';
      case 'record':
        return 'object';
      case 'union': {
        const literalsOnly = shape.members.every((m) => m.kind === 'literal');
        if (shape.label && (!literalsOnly || shape.members.length > 8)) return literalsOnly ? `${shape.label} (one of ${shape.members.length} values)` : shape.label;
        const parts = [...new Set(shape.members.map((m) => this.describe(m, seen)))];
        return parts.length > 8 ? `${parts.slice(0, 8).join(' | ')} | … (${parts.length} in all)` : parts.join(' | ');
      }
      case 'ref': {
        const d = declById(this.decls, shape.id);
        if (d.label !== 'object' || d.body.kind === 'object' || seen.has(d.id)) return d.label;
        return this.describe(d.body.shape, new Set([...seen, d.id]));
      }
      case 'error':
        throw new Error('codegen: cannot emit a validator for a type that failed to read');
      default:
        return shape.kind;
    }
  }

  /** The check function for a top-level shape (a decl's own, or a wrapper named `t$<name>`). */
  topLevel(name: string, shape: Shape): string {
    if (shape.kind === 'ref') {
      this.wanted.add(shape.id);
      return `v$${declById(this.decls, shape.id).name}`;
    }
    const fn: Fn = { lines: [], tmp: 0, usesE: false, usesD: false };
    this.check(fn, shape, 'v', [], '  ');
    this.tops.push(this.fnText(`t$${name}`, fn, []));
    return `t$${name}`;
  }

  /** Marks a helper used (the service emitter uses `schema`). */
  use(h: Helper): void {
    this.used.add(h);
  }

  /** Helpers, constants and check functions, in a deterministic order. */
  render(): string {
    const fns: string[] = [];
    const done = new Set<number>();
    // Emitting a function may want more decls: loop until closed, then sort by id.
    const bodies = new Map<number, string>();
    for (let more = true; more; ) {
      more = false;
      for (const id of [...this.wanted].sort((a, b) => a - b)) {
        if (done.has(id)) continue;
        done.add(id);
        more = true;
        bodies.set(id, this.declFn(declById(this.decls, id)));
      }
    }
    for (const id of [...bodies.keys()].sort((a, b) => a - b)) fns.push(bodies.get(id)!);
    const helpers = renderHelpers(this.used, this.options);
    return [helpers, ...this.consts, ...fns, ...this.tops].filter(Boolean).join('\n\n');
  }

  private fnText(name: string, fn: Fn, head: string[]): string {
    const dParam = fn.usesD ? 'd' : '_d';
    const decl = fn.usesE ? ['  let e: Issue | undefined;'] : [];
    return [`function ${name}(v: unknown, ${dParam}: number): Issue | undefined {`, ...head, ...decl, ...fn.lines, '  return undefined;', '}'].join('\n');
  }

  private declFn(d: Decl): string {
    this.used.add('Issue');
    this.used.add('tooDeep');
    const fn: Fn = { lines: [], tmp: 0, usesE: false, usesD: true };
    const head = ['  if (d > MAX_DEPTH) return tooDeep();'];
    if (d.body.kind === 'alias') {
      this.check(fn, d.body.shape, 'v', [], '  ');
      return this.fnText(`v$${d.name}`, fn, head);
    }
    this.used.add('isObject');
    this.used.add('expected');
    head.push(`  if (!isObject(v)) return expected(${q(d.label)}, v, []);`);
    const fields = d.body.fields;
    if (fields.length > 0) head.push('  let n = 0;');
    for (const f of fields) {
      const x = `x${++fn.tmp}`;
      const read = PROTO_NAMES.has(f.name) ? (this.used.add('own'), `own(v, ${q(f.name)})`) : `v[${q(f.name)}]`;
      fn.lines.push(`  const ${x}: unknown = ${read};`);
      if (f.optional) {
        fn.lines.push(`  if (${x} !== undefined) {`, '    n++;');
        this.check(fn, f.shape, x, [q(f.name)], '    ');
        fn.lines.push('  }');
      } else {
        this.used.add('missing');
        fn.lines.push(`  if (${x} === undefined) return missing(${q(this.describe(f.shape))}, ${q(f.name)});`, '  n++;');
        this.check(fn, f.shape, x, [q(f.name)], '  ');
      }
    }
    const known = `K$${d.name}`;
    const knownConst = `const ${known}: ReadonlySet<string> = new Set([${fields.map((f) => q(f.name)).join(', ')}]);`;
    this.used.add('keyCount');
    this.used.add('extraKeys');
    fn.usesE = true;
    fn.lines.push(`  if (${fields.length > 0 ? 'n' : '0'} !== keyCount(v) && (e = extraKeys(v, ${known}))) return e;`);
    return `${knownConst}\n${this.fnText(`v$${d.name}`, fn, head)}`;
  }

  private fail(helper: 'expected' | 'expectedValue', what: string, x: string, path: string[]): string {
    this.used.add(helper);
    return `return ${helper}(${q(what)}, ${x}, [${path.join(', ')}]);`;
  }

  private literal(value: string | number | boolean): string {
    return typeof value === 'string' ? q(value) : String(value);
  }

  /** Statements that return an Issue when `x` does not match `shape`, and fall through when it does. */
  private check(fn: Fn, shape: Shape, x: string, path: string[], ind: string): void {
    const out = fn.lines;
    const P = `[${path.join(', ')}]`;
    switch (shape.kind) {
      case 'string':
      case 'number':
      case 'boolean':
      case 'bigint':
        out.push(`${ind}if (typeof ${x} !== '${shape.kind}') ${this.fail('expected', shape.kind, x, path)}`);
        return;
      case 'null':
      case 'undefined':
        out.push(`${ind}if (${x} !== ${shape.kind}) ${this.fail('expected', shape.kind, x, path)}`);
        return;
      case 'literal':
        out.push(`${ind}if (${x} !== ${this.literal(shape.value)}) ${this.fail('expectedValue', this.describe(shape), x, path)}`);
        return;
      case 'date':
        out.push(`${ind}if (!(${x} instanceof Date) || Number.isNaN(${x}.getTime())) ${this.fail('expected', 'Date', x, path)}`);
        return;
      case 'bytes':
        out.push(`${ind}if (!${shape.buffer ? `Buffer.isBuffer(${x})` : `(${x} instanceof Uint8Array)`}) ${this.fail('expected', this.describe(shape), x, path)}`);
        return;
      case 'array': {
        const i = `i${++fn.tmp}`;
        const y = `x${++fn.tmp}`;
        out.push(`${ind}if (!Array.isArray(${x})) ${this.fail('expected', this.describe(shape), x, path)}`);
        out.push(`${ind}for (let ${i} = 0; ${i} < ${x}.length; ${i}++) {`, `${ind}  const ${y}: unknown = ${x}[${i}];`);
        this.check(fn, shape.item, y, [...path, i], `${ind}  `);
        out.push(`${ind}}`);
        return;
      }
      case 'tuple': {
        const max = shape.rest ? undefined : shape.items.length;
        const range = max === undefined ? `at least ${shape.required}` : shape.required === max ? `${max}` : `${shape.required} to ${max}`;
        this.used.add('fail');
        out.push(`${ind}if (!Array.isArray(${x})) ${this.fail('expected', 'tuple', x, path)}`);
        const cond = max === undefined ? `${x}.length < ${shape.required}` : shape.required === max ? `${x}.length !== ${max}` : `${x}.length < ${shape.required} || ${x}.length > ${max}`;
        out.push(`${ind}if (${cond}) return fail(\`expected ${range} elements, got \${${x}.length}\`, ${P});`);
        shape.items.forEach((item, k) => {
          const y = `x${++fn.tmp}`;
          out.push(`${ind}const ${y}: unknown = ${x}[${k}];`);
          if (k < shape.required) this.check(fn, item, y, [...path, String(k)], ind);
          else {
            out.push(`${ind}if (${y} !== undefined) {`);
            this.check(fn, item, y, [...path, String(k)], `${ind}  `);
            out.push(`${ind}}`);
          }
        });
        if (shape.rest) {
          const i = `i${++fn.tmp}`;
          const y = `x${++fn.tmp}`;
          out.push(`${ind}for (let ${i} = ${shape.items.length}; ${i} < ${x}.length; ${i}++) {`, `${ind}  const ${y}: unknown = ${x}[${i}];`);
          this.check(fn, shape.rest, y, [...path, i], `${ind}  `);
          out.push(`${ind}}`);
        }
        return;
      }
      case 'record': {
        const k = `k${++fn.tmp}`;
        const y = `x${++fn.tmp}`;
        this.used.add('isObject');
        this.used.add('hasOwn');
        this.used.add('fail');
        out.push(`${ind}if (!isObject(${x})) ${this.fail('expected', 'object', x, path)}`);
        out.push(`${ind}for (const ${k} in ${x}) {`, `${ind}  if (!hasOwn.call(${x}, ${k})) continue;`);
        out.push(`${ind}  if (${k} === '__proto__') return fail('the key __proto__ is not allowed', [${[...path, k].join(', ')}]);`);
        out.push(`${ind}  const ${y}: unknown = ${x}[${k}];`);
        this.check(fn, shape.value, y, [...path, k], `${ind}  `);
        out.push(`${ind}}`);
        return;
      }
      case 'ref': {
        this.wanted.add(shape.id);
        this.used.add('Issue');
        fn.usesE = true;
        fn.usesD = true;
        if (path.length) this.used.add('under');
        const name = `v$${declById(this.decls, shape.id).name}`;
        out.push(`${ind}if ((e = ${name}(${x}, d + 1))) return ${path.length ? `under(e, ${path.join(', ')})` : 'e'};`);
        return;
      }
      case 'union':
        this.union(fn, shape, x, path, ind);
        return;
      case 'error':
        throw new Error('codegen: cannot emit a validator for a type that failed to read');
    }
  }

  private union(fn: Fn, shape: Extract<Shape, { kind: 'union' }>, x: string, path: string[], ind: string): void {
    const out = fn.lines;
    const literals = shape.members.filter((m): m is Extract<Shape, { kind: 'literal' }> => m.kind === 'literal');
    const rest = shape.members.filter((m) => m.kind !== 'literal');
    const branches: Array<{ guard: string; body?: (ind: string) => void }> = [];
    if (literals.length > SET_THRESHOLD) {
      const name = `L$${this.consts.length + 1}`;
      this.consts.push(`const ${name}: ReadonlySet<unknown> = new Set([${literals.map((l) => this.literal(l.value)).join(', ')}]);`);
      branches.push({ guard: `${name}.has(${x})` });
    } else if (literals.length > 0) branches.push({ guard: literals.map((l) => `${x} === ${this.literal(l.value)}`).join(' || ') });
    const byKind = new Map<RuntimeKind, Shape[]>();
    for (const m of rest) {
      const k = runtimeKind(this.decls, m);
      byKind.set(k, [...(byKind.get(k) ?? []), m]);
    }
    for (const kind of KIND_ORDER) {
      const members = byKind.get(kind);
      if (!members) continue;
      const m = members[0]!;
      switch (kind) {
        case 'string':
        case 'number':
        case 'boolean':
        case 'bigint':
          branches.push({ guard: `typeof ${x} === '${kind}'` });
          break;
        case 'null':
        case 'undefined':
          branches.push({ guard: `${x} === ${kind}` });
          break;
        case 'date':
          branches.push({ guard: `${x} instanceof Date`, body: (i) => this.check(fn, m, x, path, i) });
          break;
        case 'bytes':
          branches.push({ guard: m.kind === 'bytes' && m.buffer ? `Buffer.isBuffer(${x})` : `${x} instanceof Uint8Array` });
          break;
        case 'array':
          branches.push({ guard: `Array.isArray(${x})`, body: (i) => this.check(fn, m, x, path, i) });
          break;
        case 'object':
          this.used.add('isObject');
          branches.push({ guard: `isObject(${x})`, body: (i) => (members.length > 1 ? this.discriminated(fn, shape, members, x, path, i) : this.check(fn, m, x, path, i)) });
          break;
        case 'other':
          throw new Error(`codegen: cannot tell union members apart at ${path.join('.')}`);
      }
    }
    // Guards that settle the value on their own come first, in one condition; then the members that need more checks.
    const simple = branches.filter((b) => !b.body).map((b) => b.guard);
    const bodied = branches.filter((b) => b.body);
    const failLine = this.fail(literals.length > 0 ? 'expectedValue' : 'expected', this.describe(shape), x, path);
    if (bodied.length === 0) {
      out.push(`${ind}if (!(${simple.join(' || ')})) ${failLine}`);
      return;
    }
    let inner = ind;
    if (simple.length > 0) {
      out.push(`${ind}if (!(${simple.join(' || ')})) {`);
      inner = `${ind}  `;
    }
    bodied.forEach((b, i) => {
      out.push(`${inner}${i === 0 ? '' : '} else '}if (${b.guard}) {`);
      b.body!(`${inner}  `);
    });
    out.push(`${inner}} else {`, `${inner}  ${failLine}`, `${inner}}`);
    if (simple.length > 0) out.push(`${ind}}`);
  }

  private discriminated(fn: Fn, shape: Extract<Shape, { kind: 'union' }>, members: Shape[], x: string, path: string[], ind: string): void {
    const key = shape.discriminant!;
    const out = fn.lines;
    const all: string[] = [];
    out.push(`${ind}switch (${x}[${q(key)}]) {`);
    for (const m of members) {
      const d = declById(this.decls, (m as { id: number }).id);
      const field = d.body.kind === 'object' ? d.body.fields.find((f) => f.name === key) : undefined;
      const values = field?.shape.kind === 'literal' ? [field.shape.value] : field?.shape.kind === 'union' ? field.shape.members.map((v) => (v as { value: string | number | boolean }).value) : [false, true];
      for (const v of values) {
        out.push(`${ind}  case ${this.literal(v)}:`);
        all.push(typeof v === 'string' ? JSON.stringify(v) : String(v));
      }
      this.check(fn, m, x, path, `${ind}    `);
      out.push(`${ind}    break;`);
    }
    out.push(`${ind}  default:`, `${ind}    ${this.fail('expectedValue', all.join(' | '), `${x}[${q(key)}]`, [...path, q(key)])}`, `${ind}}`);
  }
}
