import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode, encodeFrame } from './codec.js';
import { FastpathError, ProtocolError } from './errors.js';
import { buildFrame, FrameType, HEADER_BYTES } from './frame.js';
import { decodeHello, decodeWelcome, encodeHello, negotiateVersion } from './handshake.js';
import { decodeError, decodeGoAway, decodeRequest, decodeResponse, encodeError, encodeGoAway, encodeRequest, encodeResponse } from './messages.js';

const body = (frame: Buffer): Buffer => frame.subarray(HEADER_BYTES);

describe('messages', () => {
  it('round-trips REQUEST with and without deadline and metadata', () => {
    const f = encodeRequest(9, 'Calc.add', 50, { auth: 'x' }, { a: 1 });
    expect(f[4]).toBe(FrameType.REQUEST);
    expect(f.readUInt32LE(8)).toBe(9);
    const r = decodeRequest(body(f));
    expect(r.method).toBe('Calc.add');
    expect(r.budgetMs).toBe(50);
    expect({ ...r.metadata }).toEqual({ auth: 'x' });
    expect(Object.getPrototypeOf(r.metadata)).toBeNull();
    expect(r.payload).toEqual({ a: 1 });
    const plain = decodeRequest(body(encodeRequest(1, 'M.m', undefined, undefined, undefined)));
    expect(plain).toEqual({ method: 'M.m', budgetMs: undefined, metadata: undefined, payload: null });
  });

  it('writes exactly the bytes of the generic encoding on the hand-written REQUEST path', () => {
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 70_000 }).map((u) => (u.length % 2 ? Buffer.from(u) : u)),
      fc.constantFrom(new Uint8Array(0), new Uint8Array(255), new Uint8Array(256), new Uint8Array(65_535), new Uint8Array(65_536)),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }), payloads, (method, budget, payload) => {
        const fast = encodeRequest(7, method, budget, undefined, payload, 2);
        const generic = Buffer.concat([Buffer.alloc(12), encode([method, budget ?? null, null, payload])]);
        expect(fast.subarray(12).equals(generic.subarray(12))).toBe(true);
        expect(fast.readUInt32LE(0)).toBe(fast.length - 12);
        expect(fast[5]).toBe(2);
        const generic4 = decode(generic.subarray(12)) as unknown[];
        const back = decodeRequest(fast.subarray(12));
        expect(back.method).toBe(method);
        expect(back.budgetMs).toBe(budget);
        expect(back.payload).toEqual(generic4[3]);
      }),
      { numRuns: 300 },
    );
  });

  it('writes binary values as standard msgpack bin, like the codec', () => {
    for (const n of [0, 1, 255, 256, 65_535, 65_536, 100_000]) {
      const v = Buffer.alloc(n, 3);
      expect(encodeFrame(FrameType.RESPONSE, 0, 1, v).subarray(12).equals(Buffer.from(encode(v)))).toBe(true);
      expect(encodeFrame(FrameType.RESPONSE, 0, 1, new Uint8Array(v)).subarray(12).equals(Buffer.from(encode(v)))).toBe(true);
    }
  });

  it('rejects malformed REQUEST bodies with ProtocolError', () => {
    for (const v of [[], ['m'], [1, null, null, 1], ['', null, null, 1], ['m', -1, null, 1], ['m', 'soon', null, 1], ['m', null, 'x', 1], ['m', null, { k: 1 }, 1], { method: 'm' }]) {
      expect(() => decodeRequest(encode(v)), JSON.stringify(v)).toThrow(ProtocolError);
    }
  });

  it('encodes undefined results as an empty RESPONSE body', () => {
    const f = encodeResponse(3, undefined);
    expect(f.length).toBe(HEADER_BYTES);
    expect(decodeResponse(body(f))).toBeUndefined();
    expect(decodeResponse(body(encodeResponse(3, null)))).toBeNull();
  });

  it('round-trips ERROR with code, message and details', () => {
    const e = new FastpathError('NOT_FOUND', 'no such thing', { details: { method: 'X.y' } });
    const back = decodeError(body(encodeError(4, e)));
    expect(back.code).toBe('NOT_FOUND');
    expect(back.message).toBe('no such thing');
    expect(back.details).toEqual({ method: 'X.y' });
    expect(back.remote).toBe(true);
    const withStack = decodeError(body(encodeError(4, new FastpathError('INTERNAL', 'x'), true)));
    expect(typeof withStack.details?.stack).toBe('string');
    expect(decodeError(encode([99, 'future code', null])).code).toBe('UNKNOWN');
    expect(() => decodeError(encode(['x', 1]))).toThrow(ProtocolError);
  });

  it('round-trips GOAWAY', () => {
    expect(decodeGoAway(body(encodeGoAway('UNAVAILABLE', 'bye', 77)))).toEqual({ code: 'UNAVAILABLE', message: 'bye', lastId: 77 });
    expect(() => decodeGoAway(encode([0, 'x']))).toThrow(ProtocolError);
  });
});

describe('handshake', () => {
  it('negotiates the newest common version', () => {
    expect(negotiateVersion([1], [1])).toBe(1);
    expect(negotiateVersion([3, 2, 1], [2, 1])).toBe(2);
  });

  it('refuses incompatible versions with FAILED_PRECONDITION naming both sides', () => {
    try {
      negotiateVersion([7, 8], [1]);
      expect.unreachable();
    } catch (e) {
      expect((e as FastpathError).code).toBe('FAILED_PRECONDITION');
      expect((e as FastpathError).message).toMatch(/\[7, 8\].*\[1\]/);
      expect((e as FastpathError).details).toMatchObject({ offered: [7, 8], supported: [1], reason: 'version-mismatch' });
    }
  });

  it('validates HELLO fields', () => {
    const ok = decodeHello(body(encodeHello({ versions: [1], agent: 'a', caps: ['x'], maxFrameBytes: 1024, meta: { k: 'v' } })));
    expect(ok).toMatchObject({ proto: 'fastpath', versions: [1], caps: ['x'], maxFrameBytes: 1024, meta: { k: 'v' } });
    const bad = [{}, { proto: 'http' }, { proto: 'fastpath', versions: [] }, { proto: 'fastpath', versions: [1], maxFrameBytes: -1 }, { proto: 'fastpath', versions: [1], maxFrameBytes: 10, meta: { k: 1 } }, { proto: 'fastpath', versions: [1], maxFrameBytes: 10, caps: [1] }];
    for (const v of bad) expect(() => decodeHello(encode(v)), JSON.stringify(v)).toThrow(ProtocolError);
    expect(() => decodeWelcome(encode({ version: 'one', maxFrameBytes: 1 }))).toThrow(ProtocolError);
  });

  it('builds frames whose header matches the body', () => {
    const f = buildFrame(FrameType.PONG, 2, 5, new Uint8Array([9]));
    expect([...f]).toEqual([1, 0, 0, 0, FrameType.PONG, 2, 0, 0, 5, 0, 0, 0, 9]);
  });
});
