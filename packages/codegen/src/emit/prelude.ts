/**
 * The runtime helpers a generated file carries (only those it uses): plain code, no dependency.
 * Each helper is listed with the helpers it calls.
 */
import type { UnknownKeys } from '../model.js';

export type Helper =
  | 'Issue'
  | 'hasOwn'
  | 'own'
  | 'kindOf'
  | 'show'
  | 'expected'
  | 'expectedValue'
  | 'missing'
  | 'fail'
  | 'under'
  | 'isObject'
  | 'keyCount'
  | 'extraKeys'
  | 'tooDeep'
  | 'schema';

interface HelperSource {
  needs: Helper[];
  code: (o: { unknownKeys: UnknownKeys; maxDepth: number }) => string;
}

const HELPERS: Record<Helper, HelperSource> = {
  Issue: {
    needs: [],
    code: () => `/** A validation failure: where (path from the message's root) and why. */
type Issue = { message: string; path: PropertyKey[] };`,
  },
  hasOwn: { needs: [], code: () => 'const hasOwn = Object.prototype.hasOwnProperty;' },
  own: {
    needs: ['hasOwn'],
    code: () => `/** Reads a field whose name an Object.prototype member shares: only an own property counts. */
function own(o: Record<string, unknown>, k: string): unknown {
  return hasOwn.call(o, k) ? o[k] : undefined;
}`,
  },
  kindOf: {
    needs: [],
    code: () => `function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : 'Date';
  if (v instanceof Uint8Array) return 'Uint8Array';
  return typeof v;
}`,
  },
  show: {
    needs: ['kindOf'],
    code: () => `/** A value for a message: primitives as themselves (strings cut at 40 characters), others by kind. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? \`\${v.slice(0, 40)}…\` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return \`\${v}n\`;
  return kindOf(v);
}`,
  },
  expected: {
    needs: ['Issue', 'kindOf'],
    code: () => `function expected(what: string, v: unknown, path: PropertyKey[]): Issue {
  return { message: \`expected \${what}, got \${kindOf(v)}\`, path };
}`,
  },
  expectedValue: {
    needs: ['Issue', 'show'],
    code: () => `function expectedValue(what: string, v: unknown, path: PropertyKey[]): Issue {
  return { message: \`expected \${what}, got \${show(v)}\`, path };
}`,
  },
  missing: {
    needs: ['Issue'],
    code: () => `function missing(what: string, key: string): Issue {
  return { message: \`missing, expected \${what}\`, path: [key] };
}`,
  },
  fail: {
    needs: ['Issue'],
    code: () => `function fail(message: string, path: PropertyKey[]): Issue {
  return { message, path };
}`,
  },
  under: {
    needs: ['Issue'],
    code: () => `/** Prefixes the path of an issue found inside a nested value (paths are built only on failure). */
function under(e: Issue, ...prefix: PropertyKey[]): Issue {
  e.path.unshift(...prefix);
  return e;
}`,
  },
  isObject: {
    needs: [],
    code: () => `function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array);
}`,
  },
  keyCount: {
    needs: [],
    code: () => `/** Enumerable keys: equal to the fields found in the common case, so extra keys cost nothing until there are some. */
function keyCount(o: object): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}`,
  },
  extraKeys: {
    needs: ['Issue'],
    code: ({ unknownKeys }) =>
      unknownKeys === 'strip'
        ? `/** Unknown keys are removed (in place): a newer peer may send optional fields this contract does not know. */
function extraKeys(o: Record<string, unknown>, known: ReadonlySet<string>): Issue | undefined {
  for (const k of Object.keys(o)) if (!known.has(k)) delete o[k];
  return undefined;
}`
        : `/** Unknown keys are rejected (generated with unknownKeys: 'reject'). */
function extraKeys(o: Record<string, unknown>, known: ReadonlySet<string>): Issue | undefined {
  for (const k of Object.keys(o)) if (!known.has(k)) return { message: 'unknown key', path: [k] };
  return undefined;
}`,
  },
  tooDeep: {
    needs: ['Issue'],
    code: ({ maxDepth }) => `const MAX_DEPTH = ${maxDepth};
function tooDeep(): Issue {
  return { message: \`nested deeper than \${MAX_DEPTH} levels\`, path: [] };
}`,
  },
  schema: {
    needs: ['Issue'],
    code: () => `/**
 * A Standard Schema over a check function. A method without a request receives null from the
 * codec: \`nullIsUndefined\` maps it back to undefined.
 */
function schema<T>(check: (v: unknown, d: number) => Issue | undefined, nullIsUndefined: boolean): StandardSchemaV1<unknown, T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'fastpath',
      validate: (value: unknown) => {
        const v = nullIsUndefined && value === null ? undefined : value;
        const issue = check(v, 0);
        return issue ? { issues: [issue] } : { value: v as T };
      },
    },
  };
}`,
  },
};

const ORDER = Object.keys(HELPERS) as Helper[];

/** The code of the used helpers and everything they need, in a fixed order. */
export function renderHelpers(used: ReadonlySet<Helper>, o: { unknownKeys: UnknownKeys; maxDepth: number }): string {
  const all = new Set<Helper>();
  const add = (h: Helper): void => {
    if (all.has(h)) return;
    all.add(h);
    HELPERS[h].needs.forEach(add);
  };
  used.forEach(add);
  return ORDER.filter((h) => all.has(h))
    .map((h) => HELPERS[h].code(o))
    .join('\n\n');
}
