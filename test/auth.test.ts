// Authentication in HELLO (tokens, HMAC proofs, a verify hook) and authorization (per call, per
// service, per method, per subject), over every transport in the matrix; the HMAC edge cases
// (stale timestamps, a replayed HELLO sent for real by a raw peer, a proof relayed into another
// TLS session) over TCP, where the handshake runs for every tier.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import {
  buildFrame,
  connect,
  decode,
  FastpathError,
  FrameParser,
  FrameType,
  helloAuth,
  hmacInput,
  parseAddress,
  Server,
  Status,
  type AuthContext,
  type Client,
  type ServerOptions,
} from '@fastpath/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts } from './helpers/certs.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { RawPeer, type RawFrame } from './helpers/raw-peer.js';
import { rejectsWith, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

const TOKENS = { alice: 'tok-alice-7f3a', bob: 'tok-bob-91c2' };
const HMAC_KEYS = { 'svc-a': 'hmac-secret-a-5d1e' };

/** A GOAWAY frame's [status, message, lastId, details]. */
function goaway(f: RawFrame): { code: number; message: string; details: Record<string, unknown> | undefined } {
  const [code, message, , details] = decode(f.body) as [number, string, number, Record<string, unknown> | undefined];
  return { code, message, details };
}

interface Seen {
  interceptor: Array<string | undefined>;
  subscribe: Array<[string, string | undefined]>;
  publish: Array<[string, string | undefined]>;
}

/** A server with tokens and HMAC keys, call authorization and subject hooks that record who asked. */
function authServer(listen: string, extra: ServerOptions, seen: Seen): Server {
  const server = new Server({
    listen,
    ...extra,
    auth: { tokens: TOKENS, hmacKeys: HMAC_KEYS },
    // Only alice may reset; everyone else may call anything else.
    authorizeCall: (ctx) => ctx.method !== 'Admin.reset' || ctx.auth.identity === 'alice',
    authorize: {
      subscribe: async (subject, peer) => {
        seen.subscribe.push([subject, peer.auth.identity]);
        return !subject.startsWith('private.') || peer.auth.identity === 'alice';
      },
      publish: (subject, peer) => {
        seen.publish.push([subject, peer.auth.identity]);
        return !subject.startsWith('private.') || peer.auth.identity === 'alice';
      },
    },
  });
  server.use((call, next) => {
    seen.interceptor.push(call.auth.identity);
    expect(call.ctx.auth).toBe(call.auth);
    return next();
  });
  server.handle('Who.ami', (_req: unknown, ctx) => ({ identity: ctx.auth.identity, method: ctx.auth.method, claims: ctx.auth.claims }));
  server.handle('Admin.reset', () => 'reset');
  // The hook says "unauthenticated" (not just "denied") for clients that did not use an HMAC key.
  server.addService(
    'Vault',
    { open: () => 'opened' },
    {
      authorize: (ctx) => {
        if (ctx.auth.method !== 'hmac') throw new FastpathError('UNAUTHENTICATED', 'Vault needs an HMAC key', { details: { reason: 'hmac-required' } });
        return true;
      },
    },
  );
  // A per-method hook on top: opening the vault's backup needs a specific key id.
  server.handle('Vault.backup', () => 'backup', { authorize: async (ctx) => ctx.auth.identity === 'svc-b' });
  return server;
}

describe.each(transports)('auth over $name', (tc) => {
  let server: Server;
  const seen: Seen = { interceptor: [], subscribe: [], publish: [] };
  const errors: FastpathError[] = [];

  beforeAll(async () => {
    server = authServer(tc.listen(), tc.server ?? {}, seen);
    server.on('error', (e) => errors.push(e));
    await server.start();
    return () => server.close({ graceMs: 100 });
  });

  const open = (auth: NonNullable<Parameters<typeof connect>[1]>['auth']): Promise<Client> => connect(server.address, { ...tc.client, auth, reconnect: false });

  it('a token client is known to the handler and the interceptors; a denied call fails alone and the connection keeps serving', async () => {
    const bob = await open({ token: TOKENS.bob });
    const alice = await open({ token: TOKENS.alice });
    try {
      expect(bob.path).toBe(tc.path);
      expect(await bob.call('Who.ami')).toEqual({ identity: 'bob', method: 'token', claims: {} });
      const denied = await rejectsWith(bob.call('Admin.reset'));
      expect(denied.code).toBe('PERMISSION_DENIED');
      expect(denied.details).toMatchObject({ reason: 'call-denied', method: 'Admin.reset' });
      // The hook chose UNAUTHENTICATED for this one.
      const vault = await rejectsWith(bob.call('Vault.open'));
      expect(vault.code).toBe('UNAUTHENTICATED');
      expect(vault.details?.reason).toBe('hmac-required');
      // Same connection, still serving; another client is not affected.
      expect(await bob.call('Who.ami')).toMatchObject({ identity: 'bob' });
      expect(await alice.call('Admin.reset')).toBe('reset');
      expect(bob.state).toBe('open');
      expect(seen.interceptor.slice(-5)).toEqual(['bob', 'bob', 'bob', 'bob', 'alice']);
      const infos = server.connections().map((c) => c.auth.identity).sort();
      expect(infos).toEqual(['alice', 'bob']);
    } finally {
      await bob.close();
      await alice.close();
    }
  });

  it('an HMAC client is known by its key id; per-service and per-method hooks both apply', async () => {
    const svc = await open({ hmac: { keyId: 'svc-a', secret: HMAC_KEYS['svc-a'] } });
    try {
      expect(await svc.call('Who.ami')).toEqual({ identity: 'svc-a', method: 'hmac', claims: {} });
      expect(await svc.call('Vault.open')).toBe('opened');
      const backup = await rejectsWith(svc.call('Vault.backup'));
      expect(backup.code).toBe('PERMISSION_DENIED');
      expect(await svc.call('Vault.open')).toBe('opened');
    } finally {
      await svc.close();
    }
  });

  it('subject hooks see who the client is; a refused subscription or publish fails alone', async () => {
    const bob = await open({ token: TOKENS.bob });
    const alice = await open({ token: TOKENS.alice });
    try {
      const refused = bob.subscribe('private.plans');
      const err = await rejectsWith(refused.ready);
      expect(err.code).toBe('PERMISSION_DENIED');
      expect(err.details).toMatchObject({ reason: 'subscribe-denied', subject: 'private.plans' });
      const pub = await rejectsWith(bob.publish('private.plans', 'leak', { ack: true }));
      expect(pub.code).toBe('PERMISSION_DENIED');

      const mine = alice.subscribe<string>('private.plans');
      await mine.ready;
      const open = bob.subscribe<string>('public.news');
      await open.ready;
      await alice.publish('private.plans', 'secret plan', { ack: true });
      await bob.publish('public.news', 'hello', { ack: true });
      const it1 = mine[Symbol.asyncIterator]();
      const it2 = open[Symbol.asyncIterator]();
      expect((await it1.next()).value).toMatchObject({ subject: 'private.plans', data: 'secret plan' });
      expect((await it2.next()).value).toMatchObject({ subject: 'public.news', data: 'hello' });
      expect(seen.subscribe.slice(-3)).toEqual([
        ['private.plans', 'bob'],
        ['private.plans', 'alice'],
        ['public.news', 'bob'],
      ]);
      expect(seen.publish.slice(-3)).toEqual([
        ['private.plans', 'bob'],
        ['private.plans', 'alice'],
        ['public.news', 'bob'],
      ]);
      expect(await bob.call('Who.ami')).toMatchObject({ identity: 'bob' });
      await it1.return?.();
      await it2.return?.();
    } finally {
      await bob.close();
      await alice.close();
    }
  });

  it('a wrong token, a wrong HMAC secret or no credentials: connect() rejects UNAUTHENTICATED, once (not retried), secrets never echoed', async () => {
    const before = errors.length;
    const retry = { connectRetry: { attempts: 3, initialDelayMs: 1 } };
    const wrong = await rejectsWith(connect(server.address, { ...tc.client, ...retry, auth: { token: 'tok-mallory-0000' } }));
    expect(wrong.code).toBe('UNAUTHENTICATED');
    expect(wrong.remote).toBe(true);
    expect(wrong.details?.reason).toBe('auth-failed');
    expect(wrong.message).not.toContain('tok-mallory');
    const badKey = await rejectsWith(connect(server.address, { ...tc.client, ...retry, auth: { hmac: { keyId: 'svc-a', secret: 'not-the-secret' } } }));
    expect(badKey.code).toBe('UNAUTHENTICATED');
    expect(badKey.details?.reason).toBe('auth-failed');
    const none = await rejectsWith(connect(server.address, { ...tc.client, ...retry }));
    expect(none.code).toBe('UNAUTHENTICATED');
    expect(none.details?.reason).toBe('auth-required');
    // One refusal each: UNAUTHENTICATED is final, connectRetry did not try again.
    await until(() => errors.length >= before + 3, 2000, 'error events');
    const refusals = errors.slice(before);
    expect(refusals.map((e) => [e.code, e.details?.reason])).toEqual([
      ['UNAUTHENTICATED', 'auth-failed'],
      ['UNAUTHENTICATED', 'auth-failed'],
      ['UNAUTHENTICATED', 'auth-required'],
    ]);
    for (const e of refusals) expect(e.message).not.toMatch(/tok-mallory|not-the-secret/);
    expect(server.connections()).toHaveLength(0);
    // The server keeps serving.
    const ok = await open({ token: TOKENS.alice });
    expect(await ok.call('Who.ami')).toMatchObject({ identity: 'alice' });
    await ok.close();
  });
});

describe('the HMAC example in docs/protocol.md section 6.5', () => {
  it('documents the exact signed string and MAC that the code produces', () => {
    const doc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');
    const block = /^```text hmac-input\n([\s\S]*?)^```$/m.exec(doc);
    expect(block, 'the hmac-input block').not.toBeNull();
    const nonce = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    // The block shows the string with its lines; the string itself has no line break after the last (empty) line.
    expect(block![1]!.replace(/\n$/, '')).toBe(hmacInput('svc-a', 1700000000, nonce, undefined));
    const proof = helloAuth({ hmac: { keyId: 'svc-a', secret: 'hmac-secret-a' } }, undefined, 1_700_000_000_000, nonce) as { mac: Uint8Array };
    const mac = Buffer.from(proof.mac).toString('hex');
    expect(mac).toBe(createHmac('sha256', 'hmac-secret-a').update(block![1]!.replace(/\n$/, '')).digest('hex'));
    expect(doc).toContain(`the MAC is \`${mac}\``);
  });
});

describe('HMAC proofs against a raw peer (tcp)', () => {
  let server: Server;
  const seen: Seen = { interceptor: [], subscribe: [], publish: [] };
  beforeAll(async () => {
    server = authServer('tcp://127.0.0.1:0', {}, seen);
    await server.start();
    return () => server.close({ graceMs: 100 });
  });

  /** Sends a HELLO carrying `auth` from a raw socket and returns the server's first answer. */
  async function rawHello(auth: unknown): Promise<RawFrame & { peer: RawPeer }> {
    const peer = await RawPeer.connect(server.address);
    peer.hello({ auth });
    const f = await peer.next();
    return { ...f, peer };
  }

  it('refuses a timestamp outside the window, in the past or the future', async () => {
    for (const offsetMs of [-5 * 60_000, 5 * 60_000]) {
      const f = await rawHello(helloAuth({ hmac: { keyId: 'svc-a', secret: HMAC_KEYS['svc-a'] } }, undefined, Date.now() + offsetMs));
      expect(f.type).toBe(FrameType.GOAWAY);
      const g = goaway(f);
      expect(g.code).toBe(Status.UNAUTHENTICATED);
      expect(g.details).toEqual({ reason: 'auth-expired' });
      expect(g.message).toMatch(offsetMs < 0 ? /is -(29\d|30\d) s from the server's clock/ : /is (29\d|30\d) s from the server's clock/);
      await f.peer.waitClosed();
    }
    // A fresh proof from the same key is accepted.
    const ok = await rawHello(helloAuth({ hmac: { keyId: 'svc-a', secret: HMAC_KEYS['svc-a'] } }, undefined));
    expect(ok.type).toBe(FrameType.WELCOME);
    ok.peer.destroy();
  });

  it('refuses a real client HELLO replayed byte for byte, while the original connection keeps working', async () => {
    // A recording relay between a real client and the server captures the client's HELLO.
    const captured: Buffer[] = [];
    const relay = net.createServer((inbound) => {
      const target = parseAddress(server.address) as { host: string; port: number };
      const outbound = net.connect({ host: target.host, port: target.port });
      const parser = new FrameParser((type, flags, id, body) => {
        if (type === FrameType.HELLO) captured.push(buildFrame(type, flags, id, Buffer.from(body)));
      }, 1 << 20);
      inbound.on('data', (c) => {
        parser.push(c);
        outbound.write(c);
      });
      outbound.on('data', (c) => inbound.write(c));
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
      inbound.on('error', () => {});
      outbound.on('error', () => {});
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as net.AddressInfo).port;
    const client = await connect(`tcp://127.0.0.1:${port}`, { fastPath: 'off', reconnect: false, auth: { hmac: { keyId: 'svc-a', secret: HMAC_KEYS['svc-a'] } } });
    try {
      expect(await client.call('Who.ami')).toMatchObject({ identity: 'svc-a', method: 'hmac' });
      expect(captured).toHaveLength(1);
      const hello = decode(captured[0]!.subarray(12)) as { auth: Record<string, unknown> };
      expect(hello.auth).toMatchObject({ scheme: 'hmac-sha256-v1', keyId: 'svc-a' });
      expect(JSON.stringify(hello)).not.toContain(HMAC_KEYS['svc-a']);

      // The attacker replays the captured bytes on its own connection to the server.
      const attacker = await RawPeer.connect(server.address);
      attacker.write(captured[0]!);
      const f = await attacker.next();
      expect(f.type).toBe(FrameType.GOAWAY);
      expect(goaway(f)).toMatchObject({ code: Status.UNAUTHENTICATED, details: { reason: 'auth-replayed' } });
      await attacker.waitClosed();
      // Changing the nonce (or any signed field) breaks the MAC instead.
      const forged = await rawHello({ ...hello.auth, nonce: Buffer.alloc(16, 9) });
      expect(goaway(forged)).toMatchObject({ code: Status.UNAUTHENTICATED, details: { reason: 'auth-failed' } });
      forged.peer.destroy();

      expect(await client.call('Who.ami')).toMatchObject({ identity: 'svc-a' });
    } finally {
      await client.close();
      relay.close();
    }
  });

  it('refuses malformed and unknown credentials with UNAUTHENTICATED, and a raw REQUEST before WELCOME is a protocol error', async () => {
    const malformed = await rawHello({ scheme: 'hmac-sha256-v1', keyId: 'svc-a', ts: 1, nonce: 'x', mac: 'y' });
    expect(goaway(malformed)).toMatchObject({ code: Status.UNAUTHENTICATED, details: { reason: 'auth-malformed' } });
    const unknown = await rawHello({ scheme: 'kerberos', ticket: 'x' });
    expect(goaway(unknown)).toMatchObject({ code: Status.UNAUTHENTICATED, details: { reason: 'auth-unsupported' } });
    for (const f of [malformed, unknown]) await f.peer.waitClosed();
  });
});

describe('the verify hook (tcp)', () => {
  it('accepts custom tokens with claims, refuses by returning false or throwing, and times out', async () => {
    const errors: FastpathError[] = [];
    const server = new Server({
      listen: 'tcp://127.0.0.1:0',
      handshakeTimeoutMs: 300,
      auth: {
        tokens: TOKENS,
        verify: async (creds) => {
          if (creds.method === 'none') return undefined;
          if (creds.token.startsWith('jwt:')) return { identity: creds.token.slice(4), claims: { roles: ['reader'] } };
          if (creds.token === 'hang') return new Promise<never>(() => {});
          if (creds.token === 'boom') throw new Error('database at 10.0.0.7 is down');
          if (creds.token === 'revoked') throw new FastpathError('UNAUTHENTICATED', 'this token was revoked', { details: { reason: 'token-revoked' } });
          return false;
        },
      },
    });
    server.on('error', (e) => errors.push(e));
    server.handle('Who.ami', (_req: unknown, ctx) => ctx.auth satisfies AuthContext);
    await server.start();
    const opts = { fastPath: 'off', reconnect: false } as const;
    try {
      const carol = await connect(server.address, { ...opts, auth: { token: 'jwt:carol' } });
      expect(await carol.call('Who.ami')).toEqual({ identity: 'carol', method: 'custom', claims: { roles: ['reader'] } });
      await carol.close();
      // Listed tokens do not reach verify.
      const alice = await connect(server.address, { ...opts, auth: { token: TOKENS.alice } });
      expect(await alice.call('Who.ami')).toMatchObject({ identity: 'alice', method: 'token' });

      expect(await rejectsWith(connect(server.address, { ...opts, auth: { token: 'nobody' } }))).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'auth-failed' } });
      expect(await rejectsWith(connect(server.address, { ...opts, auth: { token: 'revoked' } }))).toMatchObject({
        code: 'UNAUTHENTICATED',
        message: 'this token was revoked',
        details: { reason: 'token-revoked' },
      });
      // A hook that fails is the server's problem: UNAVAILABLE (retryable), its message stays on the server.
      const boom = await rejectsWith(connect(server.address, { ...opts, auth: { token: 'boom' } }));
      expect(boom).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'auth-error' } });
      expect(boom.message).not.toContain('10.0.0.7');
      expect(errors.some((e) => e.details?.reason === 'auth-error' && e.message.includes('database at 10.0.0.7 is down'))).toBe(true);
      const hang = await rejectsWith(connect(server.address, { ...opts, auth: { token: 'hang' } }));
      expect(hang).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'auth-timeout' } });
      // Others are served throughout.
      expect(await alice.call('Who.ami')).toMatchObject({ identity: 'alice' });
      await alice.close();
    } finally {
      await server.close({ graceMs: 100 });
    }
  });

  it('refuses an invalid auth option before sending anything, without retrying or echoing the secret', async () => {
    const server = new Server({ listen: 'tcp://127.0.0.1:0', auth: { tokens: TOKENS } });
    const errors: FastpathError[] = [];
    server.on('error', (e) => errors.push(e));
    await server.start();
    try {
      const retry = { fastPath: 'off', reconnect: false, connectRetry: { attempts: 3, initialDelayMs: 1 } } as const;
      const empty = await rejectsWith(connect(server.address, { ...retry, auth: { token: '' } }));
      expect(empty).toMatchObject({ code: 'INVALID_ARGUMENT', details: { reason: 'bad-option' } });
      const badId = await rejectsWith(connect(server.address, { ...retry, auth: { hmac: { keyId: 'a\nb', secret: 'hunter2-secret' } } }));
      expect(badId).toMatchObject({ code: 'INVALID_ARGUMENT', details: { reason: 'bad-option' } });
      expect(badId.message).not.toContain('hunter2');
      // Nothing reached the server's authentication (no HELLO was sent).
      expect(errors).toEqual([]);
    } finally {
      await server.close({ graceMs: 100 });
    }
  });

  it('lets anonymous clients in when required is false, as method "none"', async () => {
    const server = new Server({ listen: 'tcp://127.0.0.1:0', auth: { tokens: TOKENS, required: false } });
    server.handle('Who.ami', (_req: unknown, ctx) => ctx.auth);
    await server.start();
    try {
      const anon = await connect(server.address, { fastPath: 'off', reconnect: false });
      expect(await anon.call('Who.ami')).toEqual({ method: 'none', claims: {} });
      await anon.close();
      const wrong = await rejectsWith(connect(server.address, { fastPath: 'off', reconnect: false, auth: { token: 'wrong' } }));
      expect(wrong.code).toBe('UNAUTHENTICATED');
    } finally {
      await server.close({ graceMs: 100 });
    }
  });
});

describe('HMAC channel binding over TLS', () => {
  const certs = makeCerts();
  const { key, cert } = certs.server;

  /** A TLS-terminating relay the client trusts (it holds the certificate): it ends the client's TLS and opens its own to `port`. */
  async function relay(port: number): Promise<{ port: number; close: () => void }> {
    const l = tls.createServer({ key, cert }, (inbound) => {
      inbound.on('error', () => {});
      const outbound = tls.connect({ host: '127.0.0.1', port, ca: certs.ca });
      outbound.on('error', () => inbound.destroy());
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((r) => l.listen(0, '127.0.0.1', r));
    return { port: (l.address() as net.AddressInfo).port, close: () => l.close() };
  }

  it('over tls://, accepts a proof bound to its own TLS session, and refuses it relayed into another one', async () => {
    const server = new Server({ listen: 'tls://127.0.0.1:0', tls: { key, cert }, auth: { tokens: TOKENS, hmacKeys: HMAC_KEYS } });
    server.handle('Who.ami', (_req: unknown, ctx) => ctx.auth.identity);
    await server.start();
    const port = Number(server.address.split(':').pop());
    const r = await relay(port);
    const options = { tls: { ca: certs.ca }, auth: { hmac: { keyId: 'svc-a', secret: HMAC_KEYS['svc-a'] } }, reconnect: false } as const;
    try {
      const direct = await connect(server.address, options);
      expect(await direct.call('Who.ami')).toBe('svc-a');
      await direct.close();
      // Through the relay the bytes are the same, but the two TLS sessions export different
      // values: the proof the client signed for its session does not verify on the relay's.
      const relayed = await rejectsWith(connect(`tls://127.0.0.1:${r.port}`, options));
      expect(relayed.code).toBe('UNAUTHENTICATED');
      expect(relayed.details?.reason).toBe('auth-failed');
      // A token is bound to nothing: it does pass such a relay (what the binding adds to HMAC).
      const viaToken = await connect(`tls://127.0.0.1:${r.port}`, { ...options, auth: { token: TOKENS.alice } });
      expect(await viaToken.call('Who.ami')).toBe('alice');
      await viaToken.close();
    } finally {
      r.close();
      await server.close({ graceMs: 100 });
    }
  });
});
