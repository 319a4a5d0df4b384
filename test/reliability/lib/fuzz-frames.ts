// fast-check arbitraries for hostile frame streams: sequences of plausible frames (a real
// client's frames, the server's own frame types sent the wrong way, repeated HELLOs, ids that
// collide), then mutated as an attacker or a broken peer would: bytes flipped, the stream cut
// short, bytes inserted, a frame's type or length rewritten (up to 4 GiB), a body replaced by
// bytes that are not MessagePack.
import fc from 'fast-check';
import { buildFrame, encode, FrameType } from '@fastpath/core';

const REQ_CLIENT_STREAM = 0x01;
const REQ_SERVER_STREAM = 0x02;

const id = fc.integer({ min: 0, max: 6 });
const smallValue = fc.oneof(fc.integer(), fc.string({ maxLength: 12 }), fc.constant(null), fc.uint8Array({ maxLength: 24 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }));
const subject = fc.constantFrom('a', 'a.b', 'a.*', 'a.>', '>', '', 'a..b', 'x'.repeat(300));

/** One frame, as bytes: mostly well-formed, of every type and shape. */
const frame: fc.Arbitrary<Buffer> = fc.oneof(
  id.chain((i) =>
    fc.oneof(
      fc.record({ data: fc.uint8Array({ maxLength: 64 }) }).map(({ data }) => buildFrame(FrameType.REQUEST, 0, i, encode(['Rel.echo', null, null, { id: i, data }]))),
      smallValue.map((v) => buildFrame(FrameType.REQUEST, 0, i, encode(['Rel.add', null, null, { a: v, b: 1 }]))),
      fc.option(fc.integer({ min: 0, max: 50 }), { nil: null }).map((budget) => buildFrame(FrameType.REQUEST, 0, i, encode(['Rel.hang', budget, null, {}]))),
      fc.constant(buildFrame(FrameType.REQUEST, REQ_SERVER_STREAM, i, encode(['Rel.ticks', 200, null, { everyMs: 1 }]))),
      fc.constant(buildFrame(FrameType.REQUEST, REQ_CLIENT_STREAM, i, encode(['Rel.sum', 200, null, null]))),
      fc.integer({ min: 0, max: 3 }).map((f) => buildFrame(FrameType.REQUEST, f, i, encode(['No.such', null, { k: 'v' }, 1]))),
      smallValue.map((v) => buildFrame(FrameType.STREAM_DATA, 0, i, encode(v))),
      fc.constant(buildFrame(FrameType.STREAM_END, 0, i)),
      fc.integer({ min: -1, max: 100 }).map((n) => buildFrame(FrameType.CREDIT, 0, i, encode(n))),
      fc.constant(buildFrame(FrameType.CANCEL, 0, i)),
      fc.tuple(subject, fc.option(fc.constantFrom('q', '', 'a b'), { nil: undefined })).map(([s, q]) => buildFrame(FrameType.SUBSCRIBE, 0, i, encode(q === undefined ? { subject: s } : { subject: s, queue: q }))),
      fc.constant(buildFrame(FrameType.UNSUBSCRIBE, 0, i)),
      fc.tuple(subject, smallValue).map(([s, v]) => buildFrame(FrameType.PUBLISH, 0, i, encode([s, v]))),
      fc.constant(buildFrame(FrameType.PING, 0, i)),
      fc.constant(buildFrame(FrameType.PONG, 0, i)),
      fc.constant(buildFrame(FrameType.GOAWAY, 0, 0, encode([0, 'bye', i]))),
      fc.constantFrom({ attach: Buffer.alloc(16) }, { switch: true }, { fail: 'x' }, {}).map((v) => buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode(v))),
      fc.constant(buildFrame(FrameType.HELLO, 0, 0, encode({ proto: 'fastpath', versions: [1], agent: 'again', caps: [], maxFrameBytes: 1024 }))),
      // Types only a server sends.
      fc.constantFrom(FrameType.WELCOME, FrameType.RESPONSE, FrameType.ERROR, FrameType.EVENT, FrameType.UPGRADE).map((t) => buildFrame(t, 0, i, encode([1, 'x', null]))),
    ),
  ),
);

export type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'type'; frame: number; type: number }
  | { kind: 'length'; frame: number; len: number }
  | { kind: 'body'; frame: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
  fc.record({ kind: fc.constant('type' as const), frame: fc.nat(), type: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('length' as const), frame: fc.nat(), len: fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(65_536, 65_537, 0x7fffffff, 0xffffffff)) }),
  // Bad MessagePack: 0xc1 is never valid; truncated containers and strings; random bytes.
  fc.record({
    kind: fc.constant('body' as const),
    frame: fc.nat(),
    bytes: fc.oneof(fc.constantFrom(Buffer.from([0xc1]), Buffer.from([0x94, 0xa1]), Buffer.from([0xdd, 0x7f, 0xff, 0xff, 0xff]), Buffer.from([0xd9, 0xff, 0x61])), fc.uint8Array({ maxLength: 32 })),
  }),
);

export interface FuzzCase {
  /** Start with a valid HELLO (most cases), or fuzz the handshake itself. */
  hello: boolean;
  frames: Buffer[];
  mutations: Mutation[];
  /** Where the byte stream is split into separate writes. */
  cuts: number[];
}

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.record({
  hello: fc.integer({ min: 0, max: 9 }).map((n) => n !== 0),
  frames: fc.array(frame, { minLength: 1, maxLength: 10 }),
  mutations: fc.array(mutation, { maxLength: 3 }),
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
});

/** The bytes of a case, mutations applied, as the chunks to write. */
export function render(c: FuzzCase): Buffer[] {
  const frames = c.frames.map((f) => Buffer.from(f));
  const at = (n: number): Buffer => frames[n % frames.length]!;
  for (const m of c.mutations) {
    if (m.kind === 'type') at(m.frame)[4] = m.type;
    else if (m.kind === 'length') at(m.frame).writeUInt32LE(m.len, 0);
    else if (m.kind === 'body') {
      const f = at(m.frame);
      const i = m.frame % frames.length;
      const nf = Buffer.concat([f.subarray(0, 12), m.bytes]);
      nf.writeUInt32LE(m.bytes.length, 0);
      frames[i] = nf;
    }
  }
  let bytes = Buffer.concat(frames);
  for (const m of c.mutations) {
    if (m.kind === 'flip' && bytes.length) bytes[m.at % bytes.length]! ^= m.xor;
    else if (m.kind === 'cut') bytes = bytes.subarray(0, m.at % (bytes.length + 1));
    else if (m.kind === 'insert') {
      const p = m.at % (bytes.length + 1);
      bytes = Buffer.concat([bytes.subarray(0, p), m.bytes, bytes.subarray(p)]);
    }
  }
  const points = [...new Set(c.cuts.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    if (p > prev) chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  return chunks;
}

// --- the other direction: what a hostile or broken server sends a client ---------------------

const welcomeBody = fc.oneof(
  fc.constant({ version: 1, agent: 'raw', caps: [], maxFrameBytes: 1 << 20, keepaliveMs: 0, fastPath: { offer: false, reason: 'raw' } }),
  fc
    .tuple(
      fc.constantFrom('version', 'agent', 'caps', 'maxFrameBytes', 'keepaliveMs', 'fastPath', 'fingerprints'),
      fc.oneof(smallValue, fc.constantFrom(-1, 2, 0, 2 ** 40, { offer: true, tier: 'shm' }, { offer: true, tier: 'uds' }, { offer: 'yes' }, { 'Rel.add': 1 })),
    )
    .map(([k, v]) => ({ version: 1, agent: 'raw', caps: [], maxFrameBytes: 1 << 20, keepaliveMs: 0, [k]: v })),
);

/** One frame a server might send: answers to the client's call (id 1), events, control frames. */
const serverFrame: fc.Arbitrary<Buffer> = fc.integer({ min: 0, max: 3 }).chain((i) =>
  fc.oneof(
    smallValue.map((v) => buildFrame(FrameType.RESPONSE, 0, i, encode(v))),
    fc.constant(buildFrame(FrameType.RESPONSE, 0, i)),
    fc.tuple(fc.integer({ min: -1, max: 40 }), fc.string({ maxLength: 20 }), smallValue).map(([s, m, d]) => buildFrame(FrameType.ERROR, 0, i, encode([s, m, d]))),
    fc.tuple(subject, smallValue).map(([s, v]) => buildFrame(FrameType.EVENT, 0, i, encode([s, v]))),
    smallValue.map((v) => buildFrame(FrameType.STREAM_DATA, 0, i, encode(v))),
    fc.constant(buildFrame(FrameType.STREAM_END, 0, i)),
    fc.integer({ min: -1, max: 100 }).map((n) => buildFrame(FrameType.CREDIT, 0, i, encode(n))),
    fc.constant(buildFrame(FrameType.CANCEL, 0, i)),
    fc.constant(buildFrame(FrameType.PING, 0, i)),
    fc.constant(buildFrame(FrameType.PONG, 0, i)),
    fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 5 })).map(([s, last]) => buildFrame(FrameType.GOAWAY, 0, 0, encode([s, 'bye', last]))),
    fc.constantFrom({ tier: 'uds', nonce: Buffer.alloc(16), params: { path: '/nonexistent/x.sock' } }, { tier: 'shm', nonce: Buffer.alloc(16), params: { shm: '/fp-bad' } }, { tier: 'x' }).map((v) => buildFrame(FrameType.UPGRADE, 0, 0, encode(v))),
    fc.constantFrom({ switch: true }, { fail: 'no' }, { attach: Buffer.alloc(1) }).map((v) => buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode(v))),
    welcomeBody.map((w) => buildFrame(FrameType.WELCOME, 0, 0, encode(w))),
    // Types only a client sends.
    fc.constantFrom(FrameType.HELLO, FrameType.REQUEST, FrameType.SUBSCRIBE, FrameType.PUBLISH).map((t) => buildFrame(t, 0, i, encode(['x', null, null, 1]))),
  ),
);

export interface ServerFuzzCase {
  welcome: Buffer;
  /** Mutations of the WELCOME itself (the handshake), applied like FuzzCase mutations. */
  welcomeMutations: Mutation[];
  frames: Buffer[];
  mutations: Mutation[];
  cuts: number[];
}

export const serverFuzzCase: fc.Arbitrary<ServerFuzzCase> = fc.record({
  welcome: welcomeBody.map((w) => buildFrame(FrameType.WELCOME, 0, 0, encode(w))),
  welcomeMutations: fc.oneof({ weight: 3, arbitrary: fc.constant([] as Mutation[]) }, { weight: 1, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 2 }) }),
  frames: fc.array(serverFrame, { maxLength: 8 }),
  mutations: fc.array(mutation, { maxLength: 3 }),
  cuts: fc.array(fc.nat(), { maxLength: 3 }),
});
