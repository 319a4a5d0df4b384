/**
 * How `fastpath call` maps JSON to the values fastpath's MessagePack codec carries, and back.
 * JSON has no bytes, no 64-bit integers, no dates and no NaN, so those travel as one-key tagged
 * objects (docs/cli.md):
 *
 * | value on the wire            | JSON                                  |
 * |------------------------------|---------------------------------------|
 * | bytes (Uint8Array / Buffer)  | `{ "$bytes": "<base64>" }`            |
 * | bigint (msgpack int64)       | `{ "$bigint": "-12345678901234567" }` |
 * | Date (msgpack timestamp)     | `{ "$date": "2026-01-02T03:04:05.000Z" }` |
 * | NaN, Infinity, -Infinity     | `{ "$number": "NaN" }`, ...            |
 *
 * An object whose only key is one of these tags is always read as the tagged value. Everything
 * else maps as JSON does: objects, arrays, strings, finite numbers, booleans, null. A result of
 * `undefined` (a method with no response) prints as null.
 */

export class JsonMappingError extends Error {
  override readonly name = 'JsonMappingError';
  constructor(
    message: string,
    /** Where in the payload, e.g. `items[2].id`; empty for the root. */
    readonly path: string,
  ) {
    super(path === '' ? message : `${path}: ${message}`);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BIGINT = /^-?\d+$/;
const TAGS = ['$bytes', '$bigint', '$date', '$number'] as const;

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? (path === '' ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`;
}

/** Sets an own property, including one named `__proto__` (which must never become a prototype). */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function fromTag(tag: string, v: unknown, path: string): unknown {
  if (typeof v !== 'string') throw new JsonMappingError(`${tag} expects a string, got ${v === null ? 'null' : typeof v}`, path);
  switch (tag) {
    case '$bytes':
      if (!BASE64.test(v)) throw new JsonMappingError('$bytes expects standard base64 (A-Z a-z 0-9 + /, = padding)', path);
      return Buffer.from(v, 'base64');
    case '$bigint':
      if (!BIGINT.test(v)) throw new JsonMappingError(`$bigint expects a decimal integer, got "${v}"`, path);
      return BigInt(v);
    case '$date': {
      const d = new Date(v);
      if (Number.isNaN(d.getTime())) throw new JsonMappingError(`$date expects an ISO 8601 date, got "${v}"`, path);
      return d;
    }
    default:
      if (v === 'NaN') return Number.NaN;
      if (v === 'Infinity') return Number.POSITIVE_INFINITY;
      if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
      throw new JsonMappingError(`$number expects "NaN", "Infinity" or "-Infinity", got "${v}"`, path);
  }
}

/** Turns parsed JSON into the value to send: tagged objects become bytes, bigints, dates, non-finite numbers. */
export function fromJson(value: unknown, path = ''): unknown {
  if (Array.isArray(value)) return value.map((v, i) => fromJson(v, childPath(path, i)));
  if (typeof value !== 'object' || value === null) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (TAGS as readonly string[]).includes(keys[0]!)) return fromTag(keys[0]!, (value as Record<string, unknown>)[keys[0]!], path);
  const out: Record<string, unknown> = {};
  for (const k of keys) setOwn(out, k, fromJson((value as Record<string, unknown>)[k], childPath(path, k)));
  return out;
}

/** Parses a JSON payload and maps it (fromJson). Throws SyntaxError or JsonMappingError. */
export function parsePayload(text: string): unknown {
  return fromJson(JSON.parse(text) as unknown);
}

/** Turns a received value into JSON-safe data: bytes, bigints, dates and non-finite numbers become tagged objects. */
export function toJson(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $number: String(value) };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? { $date: 'Invalid Date' } : { $date: value.toISOString() };
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) setOwn(out, k, toJson(v));
    return out;
  }
  return value;
}
