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

/** Fuzz run counts: `ci` by default, `long` with FASTPATH_FUZZ=long (npm run fuzz), n with FASTPATH_FUZZ_RUNS=n. */
function fuzzRuns(ci: number, long: number): number {
  const n = Number(process.env.FASTPATH_FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : process.env.FASTPATH_FUZZ === 'long' ? long : ci;
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
      { numRuns: fuzzRuns(500, 100_000) },
    );
  });

  // Issue 9. Valid frame streams, mutated as a hostile peer would (bytes flipped, cut short,
  // inserted, the type or length field rewritten, lengths up to 4 GiB), split at random points:
  // frames come out or a ProtocolError is thrown, and the parser never asks for a buffer larger
  // than maxFrameBytes, nor holds more than one header and one maxFrameBytes body, whatever the
  // input announced. Allocation is observed through Buffer.allocUnsafe/alloc/allocUnsafeSlow.
  // Runs: 500 in CI, FASTPATH_FUZZ=long 100 000, FASTPATH_FUZZ_RUNS=<n> for exactly n.
  it('fuzz: mutated frame streams never allocate beyond maxFrameBytes and throw only ProtocolError', () => {
    const runs = fuzzRuns(500, 100_000);
    const MAX = 512;
    const frames = fc.array(
      fc.record({
        type: fc.integer({ min: 1, max: FrameType.CREDIT }),
        flags: fc.integer({ min: 0, max: 255 }),
        id: fc.integer({ min: 0, max: 0xffffffff }),
        body: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: MAX - 4, maxLength: MAX + 64 })),
      }),
      { minLength: 1, maxLength: 8 },
    );
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      fc.record({ kind: fc.constant('type' as const), frame: fc.nat(), type: fc.integer({ min: 0, max: 255 }) }),
      fc.record({
        kind: fc.constant('length' as const),
        frame: fc.nat(),
        len: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, MAX, MAX + 1, 0x7fffffff, 0xffffffff)),
      }),
    );
    fc.assert(
      fc.property(frames, fc.array(mutation, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), (input, mutations, cuts) => {
        const built = input.map((f) => buildFrame(f.type, f.flags, f.id, f.body));
        const starts: number[] = [];
        let at = 0;
        for (const b of built) {
          starts.push(at);
          at += b.length;
        }
        let bytes = Buffer.concat(built);
        for (const m of mutations) {
          if (m.kind === 'flip') {
            if (bytes.length) bytes[m.at % bytes.length]! ^= m.xor;
          } else if (m.kind === 'cut') bytes = bytes.subarray(0, m.at % (bytes.length + 1));
          else if (m.kind === 'insert') {
            const p = m.at % (bytes.length + 1);
            bytes = Buffer.concat([bytes.subarray(0, p), m.bytes, bytes.subarray(p)]);
          } else {
            const s = starts[m.frame % starts.length]!;
            if (s + HEADER_BYTES > bytes.length) continue;
            if (m.kind === 'type') bytes[s + 4] = m.type;
            else bytes.writeUInt32LE(m.len, s);
          }
        }
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const delivered: number[] = [];
        const parser = new FrameParser((_t, _f, _id, body) => delivered.push(body.length), MAX);
        const sizes: number[] = [];
        const spies = [vi.spyOn(Buffer, 'allocUnsafe'), vi.spyOn(Buffer, 'alloc'), vi.spyOn(Buffer, 'allocUnsafeSlow')];
        let err: unknown;
        try {
          let prev = 0;
          for (const p of [...points, bytes.length]) {
            parser.push(bytes.subarray(prev, p));
            prev = p;
            expect(parser.buffered).toBeLessThanOrEqual(HEADER_BYTES + MAX);
          }
        } catch (e) {
          err = e;
        } finally {
          for (const s of spies) {
            for (const call of s.mock.calls) sizes.push(Number(call[0]));
            s.mockRestore();
          }
        }
        if (err !== undefined) {
          expect(ProtocolError.is(err), String(err)).toBe(true);
          // Dead after a failure: the same error again, nothing delivered.
          const n = delivered.length;
          expect(() => parser.push(Buffer.alloc(HEADER_BYTES))).toThrow(err as Error);
          expect(delivered.length).toBe(n);
        }
        expect(sizes.every((n) => n <= MAX), `allocations ${sizes.join(', ')}`).toBe(true);
        expect(delivered.every((n) => n <= MAX)).toBe(true);
      }),
      { numRuns: runs },
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
