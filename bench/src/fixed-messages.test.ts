import { describe, expect, it } from 'vitest';
import { FixedMessages } from './fixed-messages.js';

function messages(count: number, size: number): Buffer {
  const b = Buffer.alloc(count * size);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + Math.floor(i / size)) & 0xff;
  return b;
}

function collect(size: number, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  const fm = new FixedMessages(size, (m) => out.push(m));
  for (const c of chunks) fm.push(c);
  return out;
}

describe('FixedMessages', () => {
  it('hands out a chunk that is exactly one message', () => {
    const m = messages(1, 64);
    const out = collect(64, [m]);
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(m)).toBe(true);
  });

  it('reassembles messages split at every possible byte', () => {
    const stream = messages(3, 64);
    for (let cut = 1; cut < stream.length; cut++) {
      const out = collect(64, [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(Buffer.concat(out).equals(stream)).toBe(true);
      expect(out.every((m) => m.length === 64)).toBe(true);
    }
  });

  it('handles one byte at a time and many messages in one chunk', () => {
    const stream = messages(5, 64);
    const byteWise = collect(64, [...stream].map((b) => Buffer.from([b])));
    expect(byteWise).toHaveLength(5);
    expect(Buffer.concat(byteWise).equals(stream)).toBe(true);
    const merged = collect(64, [stream]);
    expect(merged).toHaveLength(5);
    expect(Buffer.concat(merged).equals(stream)).toBe(true);
  });

  it('keeps the tail of a chunk for the next one and reports what it holds', () => {
    const stream = messages(2, 64);
    const out: Buffer[] = [];
    const fm = new FixedMessages(64, (m) => out.push(m));
    fm.push(stream.subarray(0, 100));
    expect(out).toHaveLength(1);
    expect(fm.buffered).toBe(36);
    fm.push(stream.subarray(100));
    expect(out).toHaveLength(2);
    expect(fm.buffered).toBe(0);
    expect(out[1]!.equals(stream.subarray(64))).toBe(true);
  });

  it('never reuses the buffer of a message it handed out', () => {
    const stream = messages(2, 8);
    const out = collect(8, [stream.subarray(0, 3), stream.subarray(3, 11), stream.subarray(11)]);
    expect(out[0]!.equals(stream.subarray(0, 8))).toBe(true);
    expect(out[1]!.equals(stream.subarray(8))).toBe(true);
  });

  it('rejects a non-positive size', () => {
    expect(() => new FixedMessages(0, () => {})).toThrow(RangeError);
  });
});
