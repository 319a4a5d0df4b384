/**
 * The benchmark payload: `bytes` bytes (64 by default) whose first 8 bytes carry the send time as
 * a little-endian u64 from process.hrtime.bigint(), as in the Windows loopback fast-path test.
 * Bytes 8..11 carry the round-trip sequence number, so a stale or reordered echo is detected.
 * The rest is a fixed pattern.
 */
export const STAMP_BYTES = 8;
export const MIN_PAYLOAD_BYTES = STAMP_BYTES + 4;

export function makePayload(bytes: number): Buffer {
  if (!Number.isInteger(bytes) || bytes < MIN_PAYLOAD_BYTES) {
    throw new RangeError(`payload must be an integer of at least ${MIN_PAYLOAD_BYTES} bytes, got ${bytes}`);
  }
  const b = Buffer.alloc(bytes);
  for (let i = MIN_PAYLOAD_BYTES; i < bytes; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** Writes the sequence number and the current time into the payload; returns the time. */
export function stamp(payload: Buffer, seq: number): bigint {
  payload.writeUInt32LE(seq >>> 0, STAMP_BYTES);
  const t = process.hrtime.bigint();
  payload.writeBigUInt64LE(t, 0);
  return t;
}

/** The send time carried by a payload (or its echo). */
export function readStamp(bytes: Uint8Array): bigint {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readBigUInt64LE(0);
}

/**
 * Where the pub-sub section puts its run number (bytes 12..15) and its "measured" flag (byte 16:
 * 1 once the warm-up is over); the sequence number is at 8..11.
 */
export const SEQ_OFFSET = STAMP_BYTES;
export const RUN_OFFSET = STAMP_BYTES + 4;
export const MEASURED_OFFSET = STAMP_BYTES + 8;

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** The sequence number a payload (or its echo) carries. Works on any Uint8Array. */
export function readSeq(b: Uint8Array): number {
  return u32(b, SEQ_OFFSET);
}

/** The pub-sub run number a message carries. */
export function readRun(b: Uint8Array): number {
  return u32(b, RUN_OFFSET);
}
