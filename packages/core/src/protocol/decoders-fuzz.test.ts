// Fuzzing every decoder a peer's bytes reach (issue 9): the handshake (HELLO, WELCOME and their
// fast-path fields, UPGRADE, UPGRADE_ACK), calls, errors, GOAWAY, streams and pub-sub. Whatever
// the bytes, a decoder returns a well-typed value or throws ProtocolError: never a TypeError, a
// RangeError, or anything else that would mean a peer reached code that did not expect it.
//
// Runs: FASTPATH_FUZZ_RUNS=<n> sets every property's run count; FASTPATH_FUZZ=long (npm run fuzz)
// uses the long counts. CI: 400 runs per property and input shape.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode } from './codec.js';
import { FastpathError, ProtocolError } from './errors.js';
import { decodeHello, decodeWelcome, encodeHello, encodeWelcome, negotiateVersion } from './handshake.js';
import { decodeError, decodeGoAway, decodeRequest, decodeResponse, encodeError, encodeGoAway, encodeRequest } from './messages.js';
import { decodeCredit, decodeStreamData, decodeSubjectBody, decodeSubscribe, encodeCredit, encodeSubjectBody, encodeSubscribe } from './stream-messages.js';
import { decodeUpgrade, decodeUpgradeAck, encodeUpgrade, encodeUpgradeAck, parseHelloFastPath, parseWelcomeFastPath } from './upgrade-messages.js';

/** Fuzz run counts: `ci` by default, `long` with FASTPATH_FUZZ=long (npm run fuzz), n with FASTPATH_FUZZ_RUNS=n. */
function fuzzRuns(ci: number, long: number): number {
  const n = Number(process.env.FASTPATH_FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : process.env.FASTPATH_FUZZ === 'long' ? long : ci;
}

const RUNS = fuzzRuns(400, 50_000);

/** Calls `fn`; any throw must be a ProtocolError. Returns the value or undefined. */
function onlyProtocolErrors<T>(fn: () => T, input: unknown): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!ProtocolError.is(e)) {
      throw new Error(`a decoder threw ${(e as Error)?.name}: ${(e as Error)?.message} for input ${JSON.stringify(input, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`, { cause: e });
    }
    return undefined;
  }
}

const body = (frame: Buffer): Buffer => frame.subarray(12);

/** Any value the codec can write: what a hostile peer can put in a body with a msgpack library. */
const anyValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.string({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'proto', 'versions', 'maxFrameBytes', 'fastPath', 'attach', 'switch', 'fail')), tie('value'), { maxKeys: 6 }),
  ),
})).value;

/** Valid encodings of every body a peer may send, to mutate. */
const validBodies: Array<{ name: string; bytes: Buffer }> = [
  { name: 'HELLO', bytes: body(encodeHello({ versions: [1], agent: 'a', caps: ['x'], maxFrameBytes: 1 << 20, meta: { k: 'v' }, fastPath: { mode: 'auto', host: 'h', uid: 0, tiers: ['shm', 'uds'], unavailable: { shm: 'no' } } })) },
  { name: 'WELCOME', bytes: body(encodeWelcome({ version: 1, agent: 'a', caps: [], maxFrameBytes: 1 << 20, keepaliveMs: 10_000, fastPath: { offer: true, tier: 'uds' } })) },
  { name: 'REQUEST', bytes: body(encodeRequest(1, 'Calc.add', 50, undefined, { a: 1, b: 2 })) },
  { name: 'REQUEST+metadata', bytes: body(encodeRequest(1, 'Calc.add', undefined, { k: 'v' }, [1, 2])) },
  { name: 'ERROR', bytes: body(encodeError(1, new FastpathError('NOT_FOUND', 'x', { details: { a: 1 } }))) },
  { name: 'GOAWAY', bytes: body(encodeGoAway('UNAVAILABLE', 'bye', 7)) },
  { name: 'CREDIT', bytes: body(encodeCredit(1, 64)) },
  { name: 'SUBSCRIBE', bytes: body(encodeSubscribe(1, { subject: 'a.*', queue: 'q' })) },
  { name: 'PUBLISH', bytes: Buffer.from(encodeSubjectBody('a.b', { x: 1 })) },
  { name: 'UPGRADE', bytes: body(encodeUpgrade({ tier: 'shm', nonce: new Uint8Array(16), params: { shm: '/fp-x', ringBytes: 4096 } })) },
  { name: 'UPGRADE_ACK', bytes: body(encodeUpgradeAck({ attach: new Uint8Array(16) })) },
];

/** Every decoder of peer input, with the invariants a successful decode must meet. */
const decoders: Array<{ name: string; decode: (b: Uint8Array) => unknown; check?: (v: never) => void }> = [
  {
    name: 'HELLO',
    decode: (b) => {
      const h = decodeHello(b);
      // The fast-path part is parsed when the server reads HELLO: part of the handshake.
      return { h, fp: parseHelloFastPath(h.fastPath) };
    },
    check: ({ h, fp }: { h: ReturnType<typeof decodeHello>; fp: ReturnType<typeof parseHelloFastPath> }) => {
      expect(h.proto).toBe('fastpath');
      expect(h.versions.length).toBeGreaterThan(0);
      expect(h.versions.every((v) => Number.isInteger(v))).toBe(true);
      expect(Number.isInteger(h.maxFrameBytes) && h.maxFrameBytes >= 0).toBe(true);
      expect(h.caps.every((c) => typeof c === 'string')).toBe(true);
      if (h.meta) expect(Object.values(h.meta).every((v) => typeof v === 'string')).toBe(true);
      if (fp) {
        expect(['auto', 'require']).toContain(fp.mode);
        expect(fp.tiers.every((t) => typeof t === 'string')).toBe(true);
        expect(typeof fp.uid).toBe('number');
      }
    },
  },
  {
    name: 'WELCOME',
    decode: (b) => {
      const w = decodeWelcome(b);
      return { w, fp: parseWelcomeFastPath(w.fastPath) };
    },
    check: ({ w, fp }: { w: ReturnType<typeof decodeWelcome>; fp: ReturnType<typeof parseWelcomeFastPath> }) => {
      expect(Number.isInteger(w.version) && w.version >= 0).toBe(true);
      expect(Number.isInteger(w.keepaliveMs) && w.keepaliveMs >= 0).toBe(true);
      expect(typeof fp.offer).toBe('boolean');
    },
  },
  {
    name: 'REQUEST',
    decode: decodeRequest,
    check: (r: ReturnType<typeof decodeRequest>) => {
      expect(typeof r.method === 'string' && r.method.length > 0).toBe(true);
      if (r.budgetMs !== undefined) expect(r.budgetMs >= 0 && Number.isFinite(r.budgetMs)).toBe(true);
      if (r.metadata) expect(Object.values(r.metadata).every((v) => typeof v === 'string')).toBe(true);
    },
  },
  { name: 'RESPONSE', decode: decodeResponse },
  {
    name: 'ERROR',
    decode: decodeError,
    check: (e: FastpathError) => {
      expect(FastpathError.is(e)).toBe(true);
      expect(e.remote).toBe(true);
    },
  },
  { name: 'GOAWAY', decode: decodeGoAway, check: (g: ReturnType<typeof decodeGoAway>) => expect(typeof g.lastId).toBe('number') },
  { name: 'STREAM_DATA', decode: decodeStreamData },
  { name: 'CREDIT', decode: decodeCredit, check: (n: number) => expect(Number.isInteger(n) && n > 0 && n <= 0xffffffff).toBe(true) },
  { name: 'SUBSCRIBE', decode: decodeSubscribe, check: (s: ReturnType<typeof decodeSubscribe>) => expect(typeof s.subject).toBe('string') },
  { name: 'PUBLISH/EVENT', decode: (b) => decodeSubjectBody(b, 'PUBLISH'), check: (s: { subject: string }) => expect(typeof s.subject).toBe('string') },
  {
    name: 'UPGRADE',
    decode: decodeUpgrade,
    check: (u: ReturnType<typeof decodeUpgrade>) => {
      expect(u.nonce).toBeInstanceOf(Uint8Array);
      expect(typeof u.tier).toBe('string');
    },
  },
  { name: 'UPGRADE_ACK', decode: decodeUpgradeAck },
];

function decodeChecked(d: (typeof decoders)[number], bytes: Uint8Array, input: unknown): void {
  const v = onlyProtocolErrors(() => d.decode(bytes), input);
  if (v !== undefined && d.check) d.check(v as never);
}

describe('fuzz: decoders of peer input throw only ProtocolError', () => {
  it.each(decoders)('$name: random bytes', (d) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => decodeChecked(d, bytes, [...bytes])),
      { numRuns: RUNS },
    );
  });

  it.each(decoders)('$name: any msgpack value', (d) => {
    fc.assert(
      fc.property(anyValue, (value) => decodeChecked(d, encode(value), value)),
      { numRuns: RUNS },
    );
  });

  it.each(decoders)('$name: valid bodies of every frame type with bytes flipped, cut or inserted', (d) => {
    const mutation = fc.record({
      source: fc.integer({ min: 0, max: validBodies.length - 1 }),
      flips: fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { maxLength: 4 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      insert: fc.option(fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }), { nil: undefined }),
    });
    fc.assert(
      fc.property(mutation, ({ source, flips, cut, insert }) => {
        let b = Buffer.from(validBodies[source]!.bytes);
        for (const f of flips) if (b.length) b[f.at % b.length]! ^= f.xor;
        if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
        if (insert) {
          const at = insert.at % (b.length + 1);
          b = Buffer.concat([b.subarray(0, at), insert.bytes, b.subarray(at)]);
        }
        decodeChecked(d, b, { from: validBodies[source]!.name, hex: b.toString('hex') });
      }),
      { numRuns: RUNS },
    );
  });

  it('HELLO and WELCOME with each field replaced by any value', () => {
    const hello = { proto: 'fastpath', versions: [1], agent: 'a', caps: [], maxFrameBytes: 1024, meta: { k: 'v' }, fastPath: { mode: 'auto', host: 'h', uid: 0, tiers: ['uds'], unavailable: { shm: 'x' } } };
    const welcome = { version: 1, agent: 'a', caps: [], maxFrameBytes: 1024, keepaliveMs: 0, fastPath: { offer: false, reason: 'r' } };
    const fastPathKeys = ['mode', 'host', 'uid', 'tiers', 'unavailable'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(hello)), fc.constantFrom(...fastPathKeys), fc.constantFrom(...Object.keys(welcome)), anyValue, anyValue, (key, fpKey, wk, v, w) => {
        const h = { ...hello, [key]: v, fastPath: key === 'fastPath' ? v : { ...hello.fastPath, [fpKey]: w } };
        decodeChecked(decoders[0]!, encode(h), h);
        const wl = { ...welcome, [wk]: v };
        decodeChecked(decoders[1]!, encode(wl), wl);
      }),
      { numRuns: RUNS },
    );
  });

  it('version negotiation over any offered list: a version, or FAILED_PRECONDITION', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { maxLength: 20 }), (offered) => {
        try {
          expect(offered).toContain(negotiateVersion(offered));
        } catch (e) {
          expect(FastpathError.is(e)).toBe(true);
          expect((e as FastpathError).code).toBe('FAILED_PRECONDITION');
          expect((e as FastpathError).details?.reason).toBe('version-mismatch');
        }
      }),
      { numRuns: RUNS },
    );
  });
});
