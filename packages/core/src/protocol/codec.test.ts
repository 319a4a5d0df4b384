import fc from 'fast-check';
import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decode, encode } from './codec.js';
import { FastpathError, ProtocolError } from './errors.js';

/** Fuzz run counts: `ci` by default, `long` with FASTPATH_FUZZ=long (npm run fuzz), n with FASTPATH_FUZZ_RUNS=n. */
function fuzzRuns(ci: number, long: number): number {
  const n = Number(process.env.FASTPATH_FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : process.env.FASTPATH_FUZZ === 'long' ? long : ci;
}

describe('codec', () => {
  it('round-trips the supported value types', () => {
    const value = {
      s: 'héllo',
      n: 1.5,
      i: -42,
      big: 2n ** 40n,
      neg: -(2n ** 63n),
      t: true,
      nil: null,
      date: new Date(1_700_000_000_123),
      bytes: new Uint8Array([1, 2, 3]),
      arr: [1, 'two', [3]],
      nested: { deep: { deeper: ['x'] } },
    };
    const out = decode(encode(value)) as typeof value;
    expect(out.s).toBe('héllo');
    expect(out.big).toBe(2n ** 40n);
    expect(out.neg).toBe(-(2n ** 63n));
    expect(out.date).toEqual(new Date(1_700_000_000_123));
    expect([...out.bytes]).toEqual([1, 2, 3]);
    expect(out.arr).toEqual([1, 'two', [3]]);
    expect(out.nested).toEqual({ deep: { deeper: ['x'] } });
    expect(out.nil).toBeNull();
  });

  it('leaves out undefined keys and encodes undefined array items as nil', () => {
    expect(decode(encode({ a: undefined, b: 1 }))).toEqual({ b: 1 });
    expect(Object.keys(decode(encode({ a: undefined, b: 1 })) as object)).toEqual(['b']);
    expect(decode(encode([undefined, 1]))).toEqual([null, 1]);
  });

  it('is stateless: any message decodes with a fresh, independent decoder', () => {
    // msgpackr can share record structures between messages; we must never do that.
    const encoded = Array.from({ length: 100 }, (_, i) => encode({ x: i, y: 'same shape', z: [i] }));
    const fresh = new Unpackr({ useRecords: false, mapsAsObjects: true });
    expect(fresh.unpack(encoded[99]!)).toEqual({ x: 99, y: 'same shape', z: [99] });
    // The 100th encoding of a shape is as long as the first (no structure was learnt).
    expect(encoded[99]!.length).toBe(encoded[9]!.length);
    // A plain msgpack map header, not an extension.
    expect(encoded[99]![0]! >> 4 === 0x8 || encoded[99]![0] === 0xde).toBe(true);
  });

  it('never pollutes prototypes through __proto__ keys', () => {
    // {"__proto__": {"polluted": true}} written by hand, as a hostile peer would.
    const hostile = Buffer.from('81a95f5f70726f746f5f5f81a8706f6c6c75746564c3', 'hex');
    const out = decode(hostile) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(out.polluted).toBeUndefined();
    // {"constructor": {"prototype": {"polluted": true}}}
    const hostile2 = encode({ constructor: { prototype: { polluted: true } } });
    decode(hostile2);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('throws only ProtocolError on malformed input', () => {
    for (const hex of ['', 'd9', 'dd7fffffff', '92', 'c7ff01', '0102']) {
      let err: unknown;
      try {
        decode(Buffer.from(hex, 'hex'));
      } catch (e) {
        err = e;
      }
      expect(ProtocolError.is(err), `input ${hex}`).toBe(true);
      expect((err as ProtocolError).reason).toBe('bad-body');
    }
  });

  it('turns stack-exhausting nesting into ProtocolError', () => {
    expect(() => decode(Buffer.alloc(200_000, 0x91))).toThrow(ProtocolError);
  });

  it('fuzz: random bytes decode or throw ProtocolError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decode(bytes);
        } catch (e) {
          expect(ProtocolError.is(e)).toBe(true);
        }
      }),
      { numRuns: fuzzRuns(2000, 200_000) },
    );
  });

  it('reports values that cannot be serialized as INTERNAL', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    let err: unknown;
    try {
      encode(circular);
    } catch (e) {
      err = e;
    }
    expect(FastpathError.is(err)).toBe(true);
    expect((err as FastpathError).code).toBe('INTERNAL');
    expect(() => encode(2n ** 70n)).toThrow(FastpathError);
  });
});
