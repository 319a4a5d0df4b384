// Keeps docs/protocol.md honest: every ```hex and ```msgpack example in it must be exactly what
// the encoder produces for the value listed here, every hex frame must parse into the documented
// frame type and id, and a live server and client session must send the same bytes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type Connection,
  decode,
  DEFAULT_MAX_FRAME_BYTES,
  encode,
  FastpathError,
  FrameParser,
  FrameType,
  frameTypeName,
  HEADER_BYTES,
  ProtocolError,
  Server,
  Status,
} from '@fastpath/core';
import { describe, expect, it } from 'vitest';
import { AGENT, encodeHello, encodeWelcome, negotiateVersion } from '../packages/core/src/protocol/handshake.js';
import { encodeEmpty, encodeError, encodeGoAway, encodeRequest, encodeResponse } from '../packages/core/src/protocol/messages.js';
import { encodeUpgrade, encodeUpgradeAck, type HelloFastPath } from '../packages/core/src/protocol/upgrade-messages.js';
import { ClientSession } from '../packages/core/src/session/client-session.js';
import { AttachRouter, decideOffer, type OfferDecision, type ServerFastPath } from '../packages/core/src/session/upgrade.js';
import { helloAuth } from '../packages/core/src/protocol/auth.js';
import { AuthVerifier } from '../packages/core/src/session/auth-verify.js';

const DOC = fileURLToPath(new URL('../docs/protocol.md', import.meta.url));
const MiB16 = 16 * 1024 * 1024;

// Example values for the fast-path frames (the real ones are random or machine-specific).
const FP_HOST = '9f2c4e1a7b3d5f608192a3b4c5d6e7f8';
const HELLO_FP: HelloFastPath = { mode: 'auto', host: FP_HOST, uid: 1000, tiers: ['uds'], unavailable: { shm: 'native addon unavailable: disabled by FASTPATH_NATIVE=0' } };
const SERVER_FP: ServerFastPath = { mode: 'auto', host: FP_HOST, uid: 1000, tiers: new Map([['uds', undefined]]) };
const NONCE = Buffer.from('5be0f3a9c2d4176e88b01f4d9a6c2e37', 'hex');
const UDS_PATH = '/run/user/1000/fastpath-Qx3vTb/attach.sock';

/** WELCOME's fastPath for a decision, built the way the server session builds it. */
function welcomeFastPath(d: OfferDecision): Record<string, unknown> {
  return d.tier ? { offer: true, tier: d.tier, ...(d.reason ? { reason: d.reason } : {}) } : { offer: false, reason: d.reason };
}

/** Marks a frame whose body is empty (length 0). */
const EMPTY = Symbol('empty body');

type FrameTypeName = keyof typeof FrameType;

interface FrameExample {
  /** The documented frame type and header id. */
  type: FrameTypeName;
  id: number;
  /** The encoder call that must produce the documented bytes. */
  build: () => Uint8Array;
  /** The body decoded with the codec, or EMPTY. */
  body: unknown;
}

interface ValueExample {
  value: unknown;
  /** What the JS decoder gives back. */
  decoded: unknown;
}

/** The message the version check really produces for a client offering [2]. */
function versionMismatchMessage(): string {
  try {
    negotiateVersion([2]);
  } catch (err) {
    return (err as FastpathError).message;
  }
  throw new Error('negotiateVersion([2]) did not throw');
}

/** The error the frame parser really raises for a header announcing 16 MiB + 1 bytes. */
function frameTooLargeError(): ProtocolError {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(DEFAULT_MAX_FRAME_BYTES + 1, 0);
  header[4] = FrameType.REQUEST;
  header.writeUInt32LE(1, 8);
  try {
    new FrameParser(() => {}, DEFAULT_MAX_FRAME_BYTES).push(header);
  } catch (err) {
    if (ProtocolError.is(err)) return err;
    throw err;
  }
  throw new Error('the parser accepted an oversized frame');
}

// The HMAC example (section 6.5): key "svc-a" with secret "hmac-secret-a", at 1700000000 s.
const AUTH_NONCE = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const AUTH_PROOF = helloAuth({ hmac: { keyId: 'svc-a', secret: 'hmac-secret-a' } }, undefined, 1_700_000_000_000, AUTH_NONCE);
const AUTH_MAC = Buffer.from('22ee056998095f78a2459a632c573aeedcc743bca223a0c8c8ae094e823849b4', 'hex');

/** The refusal the server's verifier really produces when that proof is used a second time. */
function replayError(): FastpathError {
  const v = new AuthVerifier({ hmacKeys: { 'svc-a': 'hmac-secret-a' } });
  v.verify(AUTH_PROOF, {}, undefined, 1_700_000_000_000);
  try {
    v.verify(AUTH_PROOF, {}, undefined, 1_700_000_001_000);
  } catch (err) {
    return err as FastpathError;
  }
  throw new Error('the replayed proof was accepted');
}

const frames: Record<string, FrameExample> = {
  hello: {
    type: 'HELLO',
    id: 0,
    build: () => encodeHello({ versions: [1], agent: AGENT, caps: [], maxFrameBytes: MiB16 }),
    body: { proto: 'fastpath', versions: [1], agent: 'fastpath-js/0.1', caps: [], maxFrameBytes: MiB16 },
  },
  'hello-meta': {
    type: 'HELLO',
    id: 0,
    build: () => encodeHello({ versions: [1], agent: AGENT, caps: [], maxFrameBytes: 1048576, meta: { tenant: 'acme' } }),
    body: { proto: 'fastpath', versions: [1], agent: 'fastpath-js/0.1', caps: [], maxFrameBytes: 1048576, meta: { tenant: 'acme' } },
  },
  welcome: {
    type: 'WELCOME',
    id: 0,
    build: () => encodeWelcome({ version: 1, agent: AGENT, caps: [], maxFrameBytes: MiB16, keepaliveMs: 10000, fastPath: welcomeFastPath(decideOffer(undefined, SERVER_FP)) }),
    body: {
      version: 1,
      agent: 'fastpath-js/0.1',
      caps: [],
      maxFrameBytes: MiB16,
      keepaliveMs: 10000,
      fastPath: { offer: false, reason: 'peer opted out (client fastPath is off)' },
    },
  },
  'request-calc-add': {
    type: 'REQUEST',
    id: 1,
    build: () => encodeRequest(1, 'Calc.add', undefined, undefined, { a: 1, b: 2 }),
    body: ['Calc.add', null, null, { a: 1, b: 2 }],
  },
  'response-calc-add': {
    type: 'RESPONSE',
    id: 1,
    build: () => encodeResponse(1, { sum: 3 }),
    body: { sum: 3 },
  },
  'request-calc-add-deadline': {
    type: 'REQUEST',
    id: 2,
    build: () => encodeRequest(2, 'Calc.add', 50, { tenant: 'acme' }, { a: 1, b: 2 }),
    body: ['Calc.add', 50, { tenant: 'acme' }, { a: 1, b: 2 }],
  },
  cancel: {
    type: 'CANCEL',
    id: 2,
    build: () => encodeEmpty(FrameType.CANCEL, 2),
    body: EMPTY,
  },
  'error-deadline': {
    type: 'ERROR',
    id: 2,
    build: () => encodeError(2, new FastpathError('DEADLINE_EXCEEDED', 'Calc.add exceeded its deadline (50 ms)', { details: { budgetMs: 50 } })),
    body: [Status.DEADLINE_EXCEEDED, 'Calc.add exceeded its deadline (50 ms)', { budgetMs: 50 }],
  },
  'request-unknown-method': {
    type: 'REQUEST',
    id: 3,
    build: () => encodeRequest(3, 'Calc.nope', undefined, undefined, {}),
    body: ['Calc.nope', null, null, {}],
  },
  'error-unimplemented': {
    type: 'ERROR',
    id: 3,
    build: () => encodeError(3, new FastpathError('UNIMPLEMENTED', 'unknown method "Calc.nope"', { details: { method: 'Calc.nope' } })),
    body: [Status.UNIMPLEMENTED, 'unknown method "Calc.nope"', { method: 'Calc.nope' }],
  },
  'response-empty': {
    type: 'RESPONSE',
    id: 4,
    build: () => encodeResponse(4, undefined),
    body: EMPTY,
  },
  ping: {
    type: 'PING',
    id: 1,
    build: () => encodeEmpty(FrameType.PING, 1),
    body: EMPTY,
  },
  pong: {
    type: 'PONG',
    id: 1,
    build: () => encodeEmpty(FrameType.PONG, 1),
    body: EMPTY,
  },
  'goaway-drain': {
    type: 'GOAWAY',
    id: 0,
    build: () => encodeGoAway('OK', 'server is shutting down', 4),
    body: [Status.OK, 'server is shutting down', 4],
  },
  'goaway-version-mismatch': {
    type: 'GOAWAY',
    id: 0,
    build: () => encodeGoAway('FAILED_PRECONDITION', versionMismatchMessage(), 0),
    body: [Status.FAILED_PRECONDITION, 'incompatible protocol version: peer offers [2], this side supports [1]', 0],
  },
  'goaway-protocol-error': {
    type: 'GOAWAY',
    id: 0,
    build: () => {
      const e = frameTooLargeError();
      return encodeGoAway(e.code, `protocol error: ${e.message}`, 0);
    },
    body: [Status.RESOURCE_EXHAUSTED, 'protocol error: frame of 16777217 bytes exceeds maxFrameBytes 16777216', 0],
  },
  'hello-auth-hmac': {
    type: 'HELLO',
    id: 0,
    build: () => encodeHello({ versions: [1], agent: AGENT, caps: [], maxFrameBytes: MiB16, auth: AUTH_PROOF }),
    body: {
      proto: 'fastpath',
      versions: [1],
      agent: 'fastpath-js/0.1',
      caps: [],
      maxFrameBytes: MiB16,
      auth: { scheme: 'hmac-sha256-v1', keyId: 'svc-a', ts: 1700000000, nonce: AUTH_NONCE, mac: AUTH_MAC },
    },
  },
  'goaway-auth-replayed': {
    type: 'GOAWAY',
    id: 0,
    build: () => {
      const e = replayError();
      return encodeGoAway(e.code, e.message, 0, e.details);
    },
    body: [Status.UNAUTHENTICATED, 'authentication failed: this HMAC proof (nonce) was already used', 0, { reason: 'auth-replayed' }],
  },
  'hello-fast-path': {
    type: 'HELLO',
    id: 0,
    build: () => encodeHello({ versions: [1], agent: AGENT, caps: [], maxFrameBytes: MiB16, fastPath: HELLO_FP }),
    body: { proto: 'fastpath', versions: [1], agent: 'fastpath-js/0.1', caps: [], maxFrameBytes: MiB16, fastPath: HELLO_FP },
  },
  'welcome-fast-path': {
    type: 'WELCOME',
    id: 0,
    build: () => encodeWelcome({ version: 1, agent: AGENT, caps: [], maxFrameBytes: MiB16, keepaliveMs: 10000, fastPath: welcomeFastPath(decideOffer(HELLO_FP, SERVER_FP)) }),
    body: {
      version: 1,
      agent: 'fastpath-js/0.1',
      caps: [],
      maxFrameBytes: MiB16,
      keepaliveMs: 10000,
      fastPath: { offer: true, tier: 'uds', reason: 'shm: native addon unavailable: disabled by FASTPATH_NATIVE=0 (client)' },
    },
  },
  'upgrade-uds': {
    type: 'UPGRADE',
    id: 0,
    build: () => encodeUpgrade({ tier: 'uds', nonce: NONCE, params: { path: UDS_PATH } }),
    body: { tier: 'uds', nonce: NONCE, params: { path: UDS_PATH } },
  },
  'upgrade-ack-attach': {
    type: 'UPGRADE_ACK',
    id: 0,
    build: () => encodeUpgradeAck({ attach: NONCE }),
    body: { attach: NONCE },
  },
  'upgrade-ack-switch': {
    type: 'UPGRADE_ACK',
    id: 0,
    build: () => encodeUpgradeAck({ switch: true }),
    body: { switch: true },
  },
  'upgrade-ack-fail': {
    type: 'UPGRADE_ACK',
    id: 0,
    build: () => encodeUpgradeAck({ fail: 'attach failed: no switch within 5000 ms' }),
    body: { fail: 'attach failed: no switch within 5000 ms' },
  },
  'goaway-attach-refused': {
    type: 'GOAWAY',
    id: 0,
    build: () => encodeGoAway('PERMISSION_DENIED', 'upgrade refused: unknown, expired or already used nonce', 0),
    body: [Status.PERMISSION_DENIED, 'upgrade refused: unknown, expired or already used nonce', 0],
  },
};

const values: Record<string, ValueExample> = {
  'value-bigint': { value: 123n, decoded: 123n },
  'value-large-number': { value: 2 ** 32, decoded: 2 ** 32 },
  'value-date': { value: new Date(1500), decoded: new Date(1500) },
  'value-date-seconds': { value: new Date(1000), decoded: new Date(1000) },
  'value-bytes': { value: Uint8Array.of(1, 2, 3), decoded: Buffer.from([1, 2, 3]) },
  'value-undefined-key': { value: { a: undefined, b: [undefined] }, decoded: { b: [null] } },
};

interface Block {
  kind: 'hex' | 'msgpack';
  name: string;
  text: string;
}

const doc = readFileSync(DOC, 'utf8');

function extractBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  for (const m of markdown.matchAll(/^```(hex|msgpack) ([\w-]+)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm)) {
    out.push({ kind: m[1] as Block['kind'], name: m[2]!, text: m[3]! });
  }
  return out;
}

/** The bytes of an annotated block: everything after `#` on a line is commentary. */
function bytesOf(block: Block): Buffer {
  let hex = '';
  for (const line of block.text.split('\n')) {
    const code = line.split('#', 1)[0]!.replace(/\s+/g, '');
    if (!/^(?:[0-9a-f]{2})*$/.test(code)) throw new Error(`${block.name}: not lowercase hex byte pairs: "${line}"`);
    hex += code;
  }
  return Buffer.from(hex, 'hex');
}

/** The value of `name = <value>` in the block's commentary. */
function annotation(block: Block, name: string): string | undefined {
  const m = new RegExp(`#\\s*${name} = (\\S+)(?: (\\w+))?`).exec(block.text);
  return m ? (m[2] ? `${m[1]} ${m[2]}` : m[1]) : undefined;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Parsed {
  type: number;
  flags: number;
  id: number;
  body: Buffer;
}

function parseAll(chunks: Uint8Array[]): Parsed[] {
  const out: Parsed[] = [];
  const parser = new FrameParser((type, flags, id, body) => out.push({ type, flags, id, body: Buffer.from(body) }), DEFAULT_MAX_FRAME_BYTES);
  for (const c of chunks) parser.push(c);
  expect(parser.buffered).toBe(0);
  return out;
}

const blocks = extractBlocks(doc);
const hexBlocks = blocks.filter((b) => b.kind === 'hex');
const valueBlocks = blocks.filter((b) => b.kind === 'msgpack');
const docBytes = (name: string): Buffer => bytesOf(hexBlocks.find((b) => b.name === name)!);

describe('docs/protocol.md examples', () => {
  it('has one block per example in the table, and no others', () => {
    const names = blocks.map((b) => b.name);
    expect(new Set(names).size).toBe(names.length);
    expect(hexBlocks.map((b) => b.name).sort()).toEqual(Object.keys(frames).sort());
    expect(valueBlocks.map((b) => b.name).sort()).toEqual(Object.keys(values).sort());
  });

  describe.each(hexBlocks.map((b) => [b.name, b] as const))('frame %s', (name, block) => {
    const example = frames[name]!;

    it('is exactly what the encoder produces', () => {
      expect(example, `no table entry for ${name}`).toBeDefined();
      expect(hex(bytesOf(block))).toBe(hex(example.build()));
    });

    it('parses into the documented frame type, id and body', () => {
      const bytes = bytesOf(block);
      for (const chunks of [[bytes], [...bytes].map((b) => Uint8Array.of(b))]) {
        const parsed = parseAll(chunks);
        expect(parsed).toHaveLength(1);
        const f = parsed[0]!;
        expect(frameTypeName(f.type)).toBe(example.type);
        expect(f.id).toBe(example.id);
        expect(f.flags).toBe(0);
        expect(f.body.length).toBe(bytes.length - HEADER_BYTES);
        if (example.body === EMPTY) expect(f.body.length).toBe(0);
        else expect(decode(f.body)).toEqual(example.body);
      }
    });

    it('annotates the header with the real length, type and id', () => {
      const bytes = bytesOf(block);
      expect(annotation(block, 'length')).toBe(String(bytes.length - HEADER_BYTES));
      expect(annotation(block, 'type')).toBe(`0x${FrameType[example.type].toString(16).padStart(2, '0')} ${example.type}`);
      expect(annotation(block, 'id')).toBe(String(example.id));
    });
  });

  describe.each(valueBlocks.map((b) => [b.name, b] as const))('value %s', (name, block) => {
    it('is exactly what the encoder produces, and decodes as documented', () => {
      const example = values[name]!;
      expect(example, `no table entry for ${name}`).toBeDefined();
      const bytes = bytesOf(block);
      expect(hex(bytes)).toBe(hex(encode(example.value)));
      expect(decode(bytes)).toEqual(example.decoded);
    });
  });

  it('parses all the frames when they arrive back to back in one chunk', () => {
    const all = hexBlocks.map((b) => bytesOf(b));
    const parsed = parseAll([Buffer.concat(all)]);
    expect(parsed.map((f) => [frameTypeName(f.type), f.id])).toEqual(hexBlocks.map((b) => [frames[b.name]!.type, frames[b.name]!.id]));
  });

  it('lists every frame type with its number', () => {
    const rows = [...doc.matchAll(/^\| `0x([0-9a-f]{2})` \| (\w+)\s*\|/gm)].map((m) => [m[2]!, Number.parseInt(m[1]!, 16)]);
    expect(Object.fromEntries(rows)).toEqual({ ...FrameType });
  });

  it('lists every status with its number', () => {
    const table: Record<string, number> = {};
    for (const m of doc.matchAll(/^\|\s*(\d+)\s*\|\s*([A-Z_]+)\s*\|\s*(\d*)\s*\|\s*([A-Z_]*)\s*\|$/gm)) {
      table[m[2]!] = Number(m[1]);
      if (m[3]) table[m[4]!] = Number(m[3]);
    }
    expect(table).toEqual({ ...Status });
  });
});

/** An in-memory Connection that records every frame written to it. */
class MemoryConnection implements Connection {
  readonly tier = 'tcp' as const;
  readonly remote = 'tcp://192.0.2.1:40000';
  readonly local = 'tcp://192.0.2.2:7000';
  readonly pendingBytes = 0;
  closed = false;
  onData: ((chunk: Uint8Array) => void) | null = null;
  onClose: ((err?: Error) => void) | null = null;
  onDrain: (() => void) | null = null;
  readonly written: Buffer[] = [];

  write(bytes: Uint8Array): void {
    if (!this.closed) this.written.push(Buffer.from(bytes));
  }

  close(): void {
    this.finish();
  }

  destroy(): void {
    this.finish();
  }

  feed(bytes: Uint8Array): void {
    this.onData?.(bytes);
  }

  /** Everything written since the last call. */
  take(): string[] {
    return this.written.splice(0).map(hex);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    const cb = this.onClose;
    this.onClose = null;
    this.onData = null;
    cb?.();
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('live sessions send the documented bytes', () => {
  it('server: WELCOME, RESPONSE, ERROR UNIMPLEMENTED, empty RESPONSE, PONG, GOAWAY drain', async () => {
    const server = new Server({});
    server.handle('Calc.add', ({ a, b }: { a: number; b: number }) => ({ sum: a + b }));
    server.handle('Calc.nothing', () => undefined);
    await server.start();
    const conn = new MemoryConnection();
    server.accept(conn);

    conn.feed(docBytes('hello'));
    await tick();
    expect(conn.take()).toEqual([hex(docBytes('welcome'))]);

    conn.feed(docBytes('request-calc-add'));
    await tick();
    expect(conn.take()).toEqual([hex(docBytes('response-calc-add'))]);

    conn.feed(docBytes('request-unknown-method'));
    await tick();
    expect(conn.take()).toEqual([hex(docBytes('error-unimplemented'))]);

    conn.feed(encodeRequest(4, 'Calc.nothing', undefined, undefined, null));
    await tick();
    expect(conn.take()).toEqual([hex(docBytes('response-empty'))]);

    conn.feed(docBytes('ping'));
    await tick();
    expect(conn.take()).toEqual([hex(docBytes('pong'))]);

    await server.close({ graceMs: 100 });
    expect(conn.take()).toEqual([hex(docBytes('goaway-drain'))]);
    expect(conn.closed).toBe(true);
  });

  it('server: GOAWAY on a version mismatch and on a frame over maxFrameBytes, then close', async () => {
    const server = new Server({});
    const errors: string[] = [];
    server.on('error', (err) => errors.push(`${err.code} ${String(err.details?.reason)}`));
    await server.start();

    const refused = new MemoryConnection();
    server.accept(refused);
    refused.feed(encodeHello({ versions: [2], agent: 'other/1.0', caps: [], maxFrameBytes: MiB16 }));
    await tick();
    expect(refused.take()).toEqual([hex(docBytes('goaway-version-mismatch'))]);
    expect(refused.closed).toBe(true);

    const oversized = new MemoryConnection();
    server.accept(oversized);
    oversized.feed(docBytes('hello'));
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(DEFAULT_MAX_FRAME_BYTES + 1, 0);
    header[4] = FrameType.REQUEST;
    header.writeUInt32LE(1, 8);
    oversized.feed(header);
    await tick();
    expect(oversized.take()).toEqual([hex(docBytes('welcome')), hex(docBytes('goaway-protocol-error'))]);
    expect(oversized.closed).toBe(true);

    expect(errors).toEqual(['FAILED_PRECONDITION version-mismatch', 'RESOURCE_EXHAUSTED frame-too-large']);
    await server.close({ graceMs: 100 });
  });

  it('client: HELLO, REQUEST, CANCEL, PONG', async () => {
    const conn = new MemoryConnection();
    const session = new ClientSession(conn, {
      maxFrameBytes: MiB16,
      keepalive: { intervalMs: 10000, timeoutMs: 20000 },
      handshakeTimeoutMs: 10000,
      fastPath: { mode: 'off', host: FP_HOST, uid: 1000, tiers: [], unavailable: {}, tierOptions: {}, upgradeTimeoutMs: 5000 },
    });
    expect(conn.take()).toEqual([hex(docBytes('hello'))]);

    conn.feed(docBytes('welcome'));
    await session.ready;

    const add = session.call('Calc.add', { a: 1, b: 2 }, undefined, undefined, undefined);
    expect(conn.take()).toEqual([hex(docBytes('request-calc-add'))]);
    conn.feed(docBytes('response-calc-add'));
    await expect(add).resolves.toEqual({ sum: 3 });

    const ac = new AbortController();
    const cancelled = session.call('Calc.add', { a: 1, b: 2 }, undefined, { tenant: 'acme' }, ac.signal);
    expect(conn.take()).toEqual([hex(encodeRequest(2, 'Calc.add', undefined, { tenant: 'acme' }, { a: 1, b: 2 }))]);
    ac.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(conn.take()).toEqual([hex(docBytes('cancel'))]);

    // A late answer to the cancelled call is ignored, not a protocol error.
    conn.feed(docBytes('error-deadline'));
    conn.feed(docBytes('ping'));
    expect(conn.take()).toEqual([hex(docBytes('pong'))]);
    expect(session.state).toBe('open');

    session.close(new FastpathError('CANCELLED', 'test done'));
  });

  it('attach router: refuses an unknown nonce with the documented GOAWAY, accepts an expected one', () => {
    const refused: FastpathError[] = [];
    const router = new AttachRouter((err) => refused.push(err));

    const stranger = new MemoryConnection();
    router.route(stranger);
    stranger.feed(docBytes('upgrade-ack-attach'));
    expect(stranger.take()).toEqual([hex(docBytes('goaway-attach-refused'))]);
    expect(stranger.closed).toBe(true);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ code: 'PERMISSION_DENIED', details: { reason: 'attach-refused' } });

    const attached: Connection[] = [];
    router.expect(NONCE, 10_000, (conn) => attached.push(conn), () => {});
    const channel = new MemoryConnection();
    router.route(channel);
    channel.feed(docBytes('upgrade-ack-attach'));
    expect(attached).toEqual([channel]);
    expect(channel.take()).toEqual([]);
    expect(router.pending).toBe(0);
  });
});
