import { Packr, RESERVE_START_SPACE, type Options } from 'msgpackr';
import { FastpathError, ProtocolError } from './errors.js';
import { HEADER_BYTES, writeHeader } from './frame.js';

/**
 * The MessagePack codec. Stateless by construction: no record structures are shared between
 * messages (`useRecords: false`), so any msgpack implementation can read every body.
 *
 * - bigint <-> int64/uint64; a 64-bit integer always decodes as bigint.
 * - Date <-> the msgpack timestamp extension (-1).
 * - Uint8Array/Buffer <-> bin; bin decodes as Buffer.
 * - Object keys whose value is undefined are left out; undefined in an array becomes nil.
 * - A `__proto__` key never reaches an object's prototype (msgpackr renames it to `__proto_`).
 */
const options: Options & { skipValues: unknown[] } = {
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: 'bigint',
  // Supported by msgpackr at run time, missing from its typings: leaves out keys whose value is undefined.
  skipValues: [undefined],
  encodeUndefinedAsNil: true,
  moreTypes: false,
  structuredClone: false,
};
const packr = new Packr(options);

/** Encodes one value. Throws FastpathError(INTERNAL) when the value cannot be serialized. */
export function encode(value: unknown): Uint8Array {
  try {
    return packr.pack(value);
  } catch (err) {
    throw new FastpathError('INTERNAL', `value cannot be serialized: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
      details: { reason: 'encode-failed' },
    });
  }
}

/**
 * If `bytes[start..end)` is exactly one msgpack bin value, returns it as a Buffer view (what
 * msgpackr returns for bin); otherwise undefined.
 */
function binAt(bytes: Uint8Array, start: number, end: number): Buffer | undefined {
  const t = bytes[start];
  let n: number;
  let h: number;
  if (t === 0xc4) {
    n = bytes[start + 1]!;
    h = 2;
  } else if (t === 0xc5) {
    n = (bytes[start + 1]! << 8) | bytes[start + 2]!;
    h = 3;
  } else if (t === 0xc6) {
    n = bytes[start + 1]! * 0x1000000 + ((bytes[start + 2]! << 16) | (bytes[start + 3]! << 8) | bytes[start + 4]!);
    h = 5;
  } else return undefined;
  if (start + h + n !== end) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset + start + h, n);
}

/** Decodes `bytes[start..end)` as one complete value. Throws only ProtocolError. */
export function decodeRange(bytes: Uint8Array, start: number, end: number): unknown {
  const bin = binAt(bytes, start, end);
  if (bin !== undefined) return bin;
  try {
    return packr.unpack(bytes, { start, end });
  } catch (err) {
    throw new ProtocolError('bad-body', `frame body is not valid MessagePack: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
}

/** Decodes one complete value. Throws only ProtocolError (reason 'bad-body'). */
export function decode(bytes: Uint8Array): unknown {
  const bin = binAt(bytes, 0, bytes.length);
  if (bin !== undefined) return bin;
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new ProtocolError('bad-body', `frame body is not valid MessagePack: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
}

/** Bytes a msgpack bin header takes for a body of `n` bytes. */
function binHeaderBytes(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Writes a msgpack bin header (bin8/16/32) at `o`; returns the offset after it. */
function writeBinHeader(out: Uint8Array, o: number, n: number): number {
  if (n < 0x100) {
    out[o] = 0xc4;
    out[o + 1] = n;
    return o + 2;
  }
  if (n < 0x10000) {
    out[o] = 0xc5;
    out[o + 1] = n >>> 8;
    out[o + 2] = n & 0xff;
    return o + 3;
  }
  out[o] = 0xc6;
  out[o + 1] = n >>> 24;
  out[o + 2] = (n >>> 16) & 0xff;
  out[o + 3] = (n >>> 8) & 0xff;
  out[o + 4] = n & 0xff;
  return o + 5;
}

function packFailed(err: unknown): FastpathError {
  return new FastpathError('INTERNAL', `value cannot be serialized: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
    details: { reason: 'encode-failed' },
  });
}

/**
 * Encodes a frame whose body is `prefix` (raw msgpack bytes, at most 240) followed by `value`,
 * in one buffer with the 12-byte header in front. A Uint8Array value is written as msgpack bin
 * directly (the same bytes msgpackr writes, without its per-call cost for binary values); any
 * other value goes through msgpackr, which reserves the header and prefix space in front.
 */
export function encodeFrameWithPrefix(type: number, flags: number, id: number, prefix: Uint8Array | undefined, value: unknown): Buffer {
  const pre = prefix ? prefix.length : 0;
  let out: Buffer;
  if (value instanceof Uint8Array && (value.constructor === Buffer || value.constructor === Uint8Array)) {
    const n = value.length;
    out = Buffer.allocUnsafe(HEADER_BYTES + pre + binHeaderBytes(n) + n);
    if (prefix) out.set(prefix, HEADER_BYTES);
    out.set(value, writeBinHeader(out, HEADER_BYTES + pre, n));
  } else {
    try {
      out = packr.pack(value, RESERVE_START_SPACE | (HEADER_BYTES + pre)) as Buffer;
    } catch (err) {
      throw packFailed(err);
    }
    if (prefix) out.set(prefix, HEADER_BYTES);
  }
  writeHeader(out, 0, out.length - HEADER_BYTES, type, flags, id);
  return out;
}

/** Encodes a whole frame (header + msgpack body) in one buffer. Throws like encode(). */
export function encodeFrame(type: number, flags: number, id: number, value: unknown): Buffer {
  return encodeFrameWithPrefix(type, flags, id, undefined, value);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Short strings that repeat on the wire (method names, subjects), decoded once: the cache is keyed
 * by a hash of the bytes and confirmed by comparing them, so a hit costs two short loops.
 */
export class Utf8Cache {
  private readonly entries = new Map<number, [bytes: Uint8Array, value: string]>();

  constructor(private readonly limit = 4096) {}

  /** The string in b[o..o+len), or undefined when it is not valid UTF-8. */
  read(b: Uint8Array, o: number, len: number): string | undefined {
    let h = len;
    for (let i = 0; i < len; i++) h = (Math.imul(h, 31) + b[o + i]!) | 0;
    const hit = this.entries.get(h);
    if (hit !== undefined && hit[0].length === len) {
      const k = hit[0];
      let same = true;
      for (let i = 0; i < len; i++) {
        if (k[i] !== b[o + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit[1];
    }
    let value: string;
    try {
      value = utf8.decode(b.subarray(o, o + len));
    } catch {
      return undefined;
    }
    if (this.entries.size >= this.limit) this.entries.clear();
    this.entries.set(h, [b.slice(o, o + len), value]);
    return value;
  }
}

/**
 * The msgpack bytes of an array header for `length` elements followed by the string `first`,
 * cached per string: the prefix of [first, ...] bodies written by hand.
 */
export class ArrayPrefixCache {
  private readonly entries = new Map<string, Uint8Array>();

  constructor(
    private readonly length: number,
    private readonly limit = 10_000,
  ) {}

  get(first: string): Uint8Array {
    let p = this.entries.get(first);
    if (p === undefined) {
      const enc = encode([first]); // 0x91, the str header, the UTF-8 bytes
      p = new Uint8Array(enc.length);
      p.set(enc);
      p[0] = 0x90 | this.length; // a fixarray of `length` elements
      if (this.entries.size >= this.limit) this.entries.clear();
      this.entries.set(first, p);
    }
    return p;
  }
}
