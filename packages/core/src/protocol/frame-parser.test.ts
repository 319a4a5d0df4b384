import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { ProtocolError } from './errors.js';
import { buildFrame, FrameType, HEADER_BYTES } from './frame.js';
import { FrameParser } from './frame-parser.js';

interface Got {
  type: number;
  flags: number;
  id: number;
  body: number[];
}

function collector(max = 1 << 20): { parser: FrameParser; frames: Got[] } {
  const frames: Got[] = [];
  const parser = new FrameParser((type, flags, id, body) => frames.push({ type, flags, id, body: [...body] }), max);
  return { parser, frames };
}

const frameArb = fc.record({
  type: fc.integer({ min: 1, max: FrameType.GOAWAY }),
  flags: fc.integer({ min: 0, max: 255 }),
  id: fc.integer({ min: 0, max: 0xffffffff }),
  body: fc.uint8Array({ maxLength: 300 }),
});

describe('FrameParser', () => {
  it('parses one frame delivered whole', () => {
    const { parser, frames } = collector();
    parser.push(buildFrame(FrameType.REQUEST, 3, 0xdeadbeef, new Uint8Array([1, 2, 3])));
    expect(frames).toEqual([{ type: FrameType.REQUEST, flags: 3, id: 0xdeadbeef, body: [1, 2, 3] }]);
  });

  it('parses frames fed one byte at a time', () => {
    const input = [
      buildFrame(FrameType.HELLO, 0, 0, new Uint8Array([0x80])),
      buildFrame(FrameType.PING, 0, 7),
      buildFrame(FrameType.RESPONSE, 1, 65536, new Uint8Array(1000).map((_, i) => i & 0xff)),
      buildFrame(FrameType.CANCEL, 0, 1),
    ];
    const all = Buffer.concat(input);
    const { parser, frames } = collector();
    for (let i = 0; i < all.length; i++) {
      parser.push(all.subarray(i, i + 1));
      // Nothing is delivered before its last byte arrives.
      const delivered = frames.length;
      let end = 0;
      let expected = 0;
      for (const f of input) {
        end += f.length;
        if (end <= i + 1) expected++;
      }
      expect(delivered).toBe(expected);
    }
    expect(frames.map((f) => f.type)).toEqual([FrameType.HELLO, FrameType.PING, FrameType.RESPONSE, FrameType.CANCEL]);
    expect(frames[2]!.body).toEqual([...new Uint8Array(1000).map((_, i) => i & 0xff)]);
    expect(frames[1]!.id).toBe(7);
    expect(parser.buffered).toBe(0);
  });

  it('parses many frames merged into one chunk', () => {
    const input = Array.from({ length: 50 }, (_, i) => buildFrame(FrameType.REQUEST, 0, i + 1, new Uint8Array(i)));
    const { parser, frames } = collector();
    parser.push(Buffer.concat(input));
    expect(frames.map((f) => f.id)).toEqual(input.map((_, i) => i + 1));
    expect(frames.map((f) => f.body.length)).toEqual(input.map((_, i) => i));
  });

  it('property: any frames, split at any points, come out identical and in order', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (input, cuts) => {
        const bytes = Buffer.concat(input.map((f) => buildFrame(f.type, f.flags, f.id, f.body)));
        const points = [...new Set(cuts.map((c) => (bytes.length ? c % (bytes.length + 1) : 0)))].sort((a, b) => a - b);
        const { parser, frames } = collector();
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          parser.push(bytes.subarray(prev, p));
          prev = p;
        }
        expect(frames).toEqual(input.map((f) => ({ type: f.type, flags: f.flags, id: f.id, body: [...f.body] })));
        expect(parser.buffered).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a length over maxFrameBytes from the header alone, before allocating', () => {
    const { parser, frames } = collector(1024);
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(0xfffffff0, 0);
    header[4] = FrameType.REQUEST;
    const spy = vi.spyOn(Buffer, 'allocUnsafe');
    const alloc = vi.spyOn(Buffer, 'alloc');
    try {
      let err: unknown;
      try {
        parser.push(header);
      } catch (e) {
        err = e;
      }
      expect(ProtocolError.is(err)).toBe(true);
      expect((err as ProtocolError).code).toBe('RESOURCE_EXHAUSTED');
      expect((err as ProtocolError).reason).toBe('frame-too-large');
      expect((err as ProtocolError).details).toMatchObject({ limit: 1024, size: 0xfffffff0 });
      expect(spy).not.toHaveBeenCalled();
      expect(alloc).not.toHaveBeenCalled();
      expect(frames).toEqual([]);
      // The parser is dead: later input throws the same error.
      expect(() => parser.push(Buffer.alloc(1))).toThrow(err as Error);
    } finally {
      spy.mockRestore();
      alloc.mockRestore();
    }
  });

  it('accepts a frame of exactly maxFrameBytes', () => {
    const { parser, frames } = collector(100);
    parser.push(buildFrame(FrameType.RESPONSE, 0, 1, new Uint8Array(100)));
    expect(frames).toHaveLength(1);
  });

  it('rejects unknown frame types and non-zero reserved bytes', () => {
    const bad = buildFrame(FrameType.PING, 0, 0);
    bad[4] = 0x7f;
    expect(() => collector().parser.push(bad)).toThrow(/unknown frame type 0x7f/);
    const zero = buildFrame(FrameType.PING, 0, 0);
    zero[4] = 0;
    expect(() => collector().parser.push(zero)).toThrow(ProtocolError);
    const reserved = buildFrame(FrameType.PING, 0, 0);
    reserved[7] = 1;
    try {
      collector().parser.push(reserved);
      expect.unreachable();
    } catch (e) {
      expect((e as ProtocolError).reason).toBe('bad-header');
    }
  });

  it('fuzz: random bytes only ever throw ProtocolError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const { parser } = collector(4096);
        try {
          for (const c of chunks) parser.push(c);
        } catch (e) {
          expect(ProtocolError.is(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('stop() ends delivery mid-chunk', () => {
    const frames: number[] = [];
    const parser = new FrameParser((_t, _f, id) => {
      frames.push(id);
      if (id === 2) parser.stop();
    }, 1024);
    parser.push(Buffer.concat([1, 2, 3].map((id) => buildFrame(FrameType.PING, 0, id))));
    expect(frames).toEqual([1, 2]);
  });
});
