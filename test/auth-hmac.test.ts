// HMAC proofs in HELLO, over TCP where the handshake runs for every tier: the documented example
// (docs/protocol.md section 6.5), stale timestamps, a replayed HELLO sent for real by a raw peer,
// malformed and unknown credentials, and a proof relayed into another TLS session.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { buildFrame, connect, decode, FrameParser, FrameType, helloAuth, hmacInput, parseAddress, Server, Status } from '@fastpath/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { authServer, HMAC_KEYS, TOKENS, type Seen } from './helpers/auth-server.js';
import { makeCerts } from './helpers/certs.js';
import { RawPeer, type RawFrame } from './helpers/raw-peer.js';
import { rejectsWith } from './helpers/util.js';

/** A GOAWAY frame's [status, message, lastId, details]. */
function goaway(f: RawFrame): { code: number; message: string; details: Record<string, unknown> | undefined } {
  const [code, message, , details] = decode(f.body) as [number, string, number, Record<string, unknown> | undefined];
  return { code, message, details };
}

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
