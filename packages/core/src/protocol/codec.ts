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

/** Decodes one complete value. Throws only ProtocolError (reason 'bad-body'). */
export function decode(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new ProtocolError('bad-body', `frame body is not valid MessagePack: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
}

/**
 * Encodes a whole frame in one buffer: msgpackr reserves the 12 header bytes in front of the
 * body it writes, so the body is never copied. Throws like encode().
 */
export function encodeFrame(type: number, flags: number, id: number, value: unknown): Buffer {
  let out: Buffer;
  try {
    out = packr.pack(value, RESERVE_START_SPACE | HEADER_BYTES) as Buffer;
  } catch (err) {
    throw new FastpathError('INTERNAL', `value cannot be serialized: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
      details: { reason: 'encode-failed' },
    });
  }
  writeHeader(out, 0, out.length - HEADER_BYTES, type, flags, id);
  return out;
}
