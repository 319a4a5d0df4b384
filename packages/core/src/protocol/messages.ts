import { codeFromStatus, statusOf, type Code } from './codes.js';
import { ArrayPrefixCache, decode, decodeRange, encode, encodeFrame, encodeFrameWithPrefix, Utf8Cache } from './codec.js';
import { FastpathError, ProtocolError, type ErrorDetails } from './errors.js';
import { buildFrame, FrameType } from './frame.js';

/** Per-call metadata: string keys, string values (like gRPC metadata / HTTP headers). */
export type Metadata = Record<string, string>;

export interface RequestBody {
  method: string;
  /** Remaining time budget in ms, or undefined for no deadline. */
  budgetMs: number | undefined;
  metadata: Metadata | undefined;
  payload: unknown;
}

const hasOwn = Object.prototype.hasOwnProperty;

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

// REQUEST body: [method: str, budgetMs: uint | nil, metadata: map<str,str> | nil, payload: any]
// Flags (RequestFlag) say whether the client and/or the server stream messages after it.
//
// The array header, the method and the budget are written by hand (the method's msgpack bytes are
// cached per method), and only the payload goes through the codec: the bytes are exactly those
// of encoding the whole array, minus the codec's per-call cost for the envelope.
const methodPrefixes = new ArrayPrefixCache(4);
const MAX_METHOD_PREFIX = 200;

export function encodeRequest(id: number, method: string, budgetMs: number | undefined, metadata: Metadata | undefined, payload: unknown, flags = 0): Buffer {
  const m = methodPrefixes.get(method);
  const simpleBudget = budgetMs === undefined || (Number.isInteger(budgetMs) && budgetMs >= 0 && budgetMs <= 0xffffffff);
  if (metadata !== undefined || m.length > MAX_METHOD_PREFIX || !simpleBudget) {
    return encodeFrame(FrameType.REQUEST, flags, id, [method, budgetMs ?? null, metadata ?? null, payload]);
  }
  const b = budgetMs ?? -1;
  // The budget in its smallest msgpack form (nil, fixint, uint8, uint16, uint32), as the codec writes it.
  const budgetBytes = b < 0 ? 1 : b < 0x80 ? 1 : b < 0x100 ? 2 : b < 0x10000 ? 3 : 5;
  const prefix = new Uint8Array(m.length + budgetBytes + 1);
  prefix.set(m);
  let o = m.length;
  if (b < 0) prefix[o++] = 0xc0;
  else if (b < 0x80) prefix[o++] = b;
  else if (b < 0x100) {
    prefix[o++] = 0xcc;
    prefix[o++] = b;
  } else if (b < 0x10000) {
    prefix[o++] = 0xcd;
    prefix[o++] = b >>> 8;
    prefix[o++] = b & 0xff;
  } else {
    prefix[o++] = 0xce;
    prefix[o++] = b >>> 24;
    prefix[o++] = (b >>> 16) & 0xff;
    prefix[o++] = (b >>> 8) & 0xff;
    prefix[o++] = b & 0xff;
  }
  prefix[o] = 0xc0; // metadata: nil
  return encodeFrameWithPrefix(FrameType.REQUEST, flags, id, prefix, payload);
}

const methodNames = new Utf8Cache();

/**
 * The common REQUEST shape read by hand: [fixstr/str8 method, nil or uint budget, nil metadata,
 * payload]. Returns undefined for any other shape (the caller then decodes generically), so every
 * valid encoding is still accepted.
 */
function decodeRequestFast(b: Uint8Array): RequestBody | undefined {
  if (b[0] !== 0x94) return undefined;
  let o = 1;
  let len: number;
  const t = b[o]!;
  if (t >= 0xa1 && t <= 0xbf) {
    len = t & 0x1f;
    o += 1;
  } else if (t === 0xd9) {
    len = b[o + 1]!;
    o += 2;
  } else return undefined;
  if (len === 0 || o + len + 2 > b.length) return undefined;
  const method = methodNames.read(b, o, len);
  if (method === undefined) return undefined;
  o += len;
  let budgetMs: number | undefined;
  const bt = b[o]!;
  if (bt === 0xc0) o += 1;
  else if (bt <= 0x7f) {
    budgetMs = bt;
    o += 1;
  } else if (bt === 0xcc) {
    budgetMs = b[o + 1]!;
    o += 2;
  } else if (bt === 0xcd) {
    budgetMs = (b[o + 1]! << 8) | b[o + 2]!;
    o += 3;
  } else if (bt === 0xce) {
    budgetMs = b[o + 1]! * 0x1000000 + ((b[o + 2]! << 16) | (b[o + 3]! << 8) | b[o + 4]!);
    o += 5;
  } else return undefined;
  if (b[o] !== 0xc0 || o + 1 >= b.length) return undefined;
  return { method, budgetMs, metadata: undefined, payload: decodeRange(b, o + 1, b.length) };
}

export function decodeRequest(body: Uint8Array): RequestBody {
  const fast = decodeRequestFast(body);
  if (fast !== undefined) return fast;
  const v = decode(body);
  if (!Array.isArray(v) || v.length !== 4) throw new ProtocolError('bad-request', 'REQUEST body must be a 4-element array');
  const [method, budget, meta, payload] = v as [unknown, unknown, unknown, unknown];
  if (typeof method !== 'string' || method.length === 0) throw new ProtocolError('bad-request', 'REQUEST method must be a non-empty string');
  let budgetMs: number | undefined;
  if (budget !== null) {
    if (typeof budget !== 'number' || !(budget >= 0) || !Number.isFinite(budget)) {
      throw new ProtocolError('bad-request', 'REQUEST budget must be a non-negative number or nil');
    }
    budgetMs = budget;
  }
  let metadata: Metadata | undefined;
  if (meta !== null) {
    if (!isPlainRecord(meta)) throw new ProtocolError('bad-request', 'REQUEST metadata must be a map or nil');
    metadata = Object.create(null) as Metadata;
    for (const k in meta) {
      if (!hasOwn.call(meta, k)) continue;
      const val = meta[k];
      if (typeof val !== 'string') throw new ProtocolError('bad-request', `REQUEST metadata value for "${k}" must be a string`);
      metadata[k] = val;
    }
  }
  return { method, budgetMs, metadata, payload };
}

// RESPONSE body: the result value; an empty body means undefined.
export function encodeResponse(id: number, result: unknown): Buffer {
  return result === undefined ? buildFrame(FrameType.RESPONSE, 0, id) : encodeFrame(FrameType.RESPONSE, 0, id, result);
}

export function decodeResponse(body: Uint8Array): unknown {
  return body.length === 0 ? undefined : decode(body);
}

// ERROR body: [status: uint, message: str, details: map | nil]
export function encodeError(id: number, err: FastpathError, exposeStack = false): Buffer {
  let details: ErrorDetails | null = err.details ?? null;
  if (exposeStack && err.stack) details = { ...details, stack: err.stack };
  let body: Uint8Array;
  try {
    body = encode([statusOf(err.code), err.message, details]);
  } catch {
    body = encode([statusOf(err.code), err.message, null]);
  }
  return buildFrame(FrameType.ERROR, 0, id, body);
}

export function decodeError(body: Uint8Array): FastpathError {
  const v = decode(body);
  if (!Array.isArray(v) || v.length < 2) throw new ProtocolError('bad-error', 'ERROR body must be [status, message, details]');
  const [status, message, details] = v as [unknown, unknown, unknown];
  if (typeof status !== 'number' || typeof message !== 'string') {
    throw new ProtocolError('bad-error', 'ERROR status must be a number and message a string');
  }
  return new FastpathError(codeFromStatus(status), message, {
    remote: true,
    details: isPlainRecord(details) ? (details as ErrorDetails) : undefined,
  });
}

// GOAWAY body: [status: uint, message: str, lastId: uint, details?: map]
export interface GoAway {
  code: Code;
  message: string;
  /** The highest request id the sender has accepted (or will answer). */
  lastId: number;
  /** Machine-readable details (`reason`, `limit`...), sent with auth and limit refusals. */
  details?: ErrorDetails;
}

export function encodeGoAway(code: Code, message: string, lastId: number, details?: ErrorDetails): Buffer {
  if (details) {
    try {
      return buildFrame(FrameType.GOAWAY, 0, 0, encode([statusOf(code), message, lastId, details]));
    } catch {
      /* details that cannot be serialized are left out */
    }
  }
  return buildFrame(FrameType.GOAWAY, 0, 0, encode([statusOf(code), message, lastId]));
}

export function decodeGoAway(body: Uint8Array): GoAway {
  const v = decode(body);
  if (!Array.isArray(v) || v.length < 3) throw new ProtocolError('bad-goaway', 'GOAWAY body must be [status, message, lastId]');
  const [status, message, lastId] = v as [unknown, unknown, unknown];
  if (typeof status !== 'number' || typeof message !== 'string' || typeof lastId !== 'number') {
    throw new ProtocolError('bad-goaway', 'GOAWAY fields have the wrong types');
  }
  const details = v[3];
  return { code: codeFromStatus(status), message, lastId, ...(isPlainRecord(details) ? { details: details as ErrorDetails } : {}) };
}

export function encodeEmpty(type: number, id: number): Buffer {
  return buildFrame(type, 0, id);
}
