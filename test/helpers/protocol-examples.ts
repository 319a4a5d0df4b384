// The examples of docs/protocol.md: for each ```hex block, the encoder call that must produce its
// bytes, its frame type and id, and its decoded body; for each ```msgpack block, the value and
// what the decoder gives back. Checked by test/protocol-doc-examples.test.ts.
import { DEFAULT_MAX_FRAME_BYTES, FastpathError, FrameParser, FrameType, HEADER_BYTES, ProtocolError, Status } from '@fastpath/core';
import { AGENT, encodeHello, encodeWelcome, negotiateVersion } from '../../packages/core/src/protocol/handshake.js';
import { encodeEmpty, encodeError, encodeGoAway, encodeRequest, encodeResponse } from '../../packages/core/src/protocol/messages.js';
import { encodeUpgrade, encodeUpgradeAck, type HelloFastPath } from '../../packages/core/src/protocol/upgrade-messages.js';
import { decideOffer, type OfferDecision, type ServerFastPath } from '../../packages/core/src/session/upgrade.js';
import { helloAuth } from '../../packages/core/src/protocol/auth.js';
import { AuthVerifier } from '../../packages/core/src/session/auth-verify.js';

export const MiB16 = 16 * 1024 * 1024;

// Example values for the fast-path frames (the real ones are random or machine-specific).
export const FP_HOST = '9f2c4e1a7b3d5f608192a3b4c5d6e7f8';
const HELLO_FP: HelloFastPath = { mode: 'auto', host: FP_HOST, uid: 1000, tiers: ['uds'], unavailable: { shm: 'native addon unavailable: disabled by FASTPATH_NATIVE=0' } };
const SERVER_FP: ServerFastPath = { mode: 'auto', host: FP_HOST, uid: 1000, tiers: new Map([['uds', undefined]]) };
export const NONCE = Buffer.from('5be0f3a9c2d4176e88b01f4d9a6c2e37', 'hex');
const UDS_PATH = '/run/user/1000/fastpath-Qx3vTb/attach.sock';

/** WELCOME's fastPath for a decision, built the way the server session builds it. */
function welcomeFastPath(d: OfferDecision): Record<string, unknown> {
  return d.tier ? { offer: true, tier: d.tier, ...(d.reason ? { reason: d.reason } : {}) } : { offer: false, reason: d.reason };
}

/** Marks a frame whose body is empty (length 0). */
export const EMPTY = Symbol('empty body');

export type FrameTypeName = keyof typeof FrameType;

export interface FrameExample {
  /** The documented frame type and header id. */
  type: FrameTypeName;
  id: number;
  /** The encoder call that must produce the documented bytes. */
  build: () => Uint8Array;
  /** The body decoded with the codec, or EMPTY. */
  body: unknown;
}

export interface ValueExample {
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

/** The ```hex blocks of docs/protocol.md, by name. */
export const frames: Record<string, FrameExample> = {
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

/** The ```msgpack blocks of docs/protocol.md, by name. */
export const values: Record<string, ValueExample> = {
  'value-bigint': { value: 123n, decoded: 123n },
  'value-large-number': { value: 2 ** 32, decoded: 2 ** 32 },
  'value-date': { value: new Date(1500), decoded: new Date(1500) },
  'value-date-seconds': { value: new Date(1000), decoded: new Date(1000) },
  'value-bytes': { value: Uint8Array.of(1, 2, 3), decoded: Buffer.from([1, 2, 3]) },
  'value-undefined-key': { value: { a: undefined, b: [undefined] }, decoded: { b: [null] } },
};
