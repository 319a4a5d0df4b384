// TLS over TCP (tls:// addresses; issue 6 item 3): round trips that are really encrypted on the
// wire, mutual TLS, every certificate failure reported as UNAVAILABLE with the TLS reason (and on
// the server's `error` event, which keeps serving), SNI, tlsLocal 'skip' (a same-host TLS
// connection moves to shm or uds, and the path says TLS was skipped) and 'require' (it stays on TLS
// over TCP, and the path says why), pub-sub and streams over TLS, and non-TLS peers on a TLS port.
//
// Certificates are made once for the file with Debian's openssl in a temporary directory, which
// is removed as soon as they are read (test/helpers/certs.ts).
import net from 'node:net';
import { connect, FastpathError, Server, type Client, type ClientOptions, type PathInfo, type ServerOptions } from '@fastpath/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, SNI_NAME, type KeyPair, type TestCerts } from './helpers/certs.js';
import { repoRoot, spawnTs } from './helpers/spawn.js';
import { rejectsWith, until } from './helpers/util.js';

let certs: TestCerts;
beforeAll(() => {
  certs = makeCerts(); // PEM strings; the temporary files are already gone
});

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

interface Started {
  server: Server;
  errors: FastpathError[];
  paths: PathInfo[];
}

/** A server on a tls:// address with Echo.say, a server stream and pub-sub; records its error and path events. */
async function tlsServer(options: ServerOptions = {}, pair: KeyPair = certs.server): Promise<Started> {
  const server = new Server({ listen: 'tls://127.0.0.1:0', ...options, tls: { cert: pair.cert, key: pair.key, ...options.tls } });
  server.handle('Echo.say', (text: string) => text);
  server.handle('Count.to', async function* (n: number) {
    for (let i = 1; i <= n; i++) yield i;
  });
  const errors: FastpathError[] = [];
  const paths: PathInfo[] = [];
  server.on('error', (err) => errors.push(err));
  server.on('path', (info) => paths.push(info));
  await server.start();
  closers.push(() => server.close({ graceMs: 100 }));
  return { server, errors, paths };
}

async function tlsClient(address: string, options: ClientOptions = {}): Promise<Client> {
  const client = await connect(address, { reconnect: false, ...options, tls: { ca: certs.ca, ...options.tls } });
  closers.push(() => client.close());
  return client;
}

/** connect() that must fail: returns the error. */
function failing(address: string, options: ClientOptions): Promise<FastpathError> {
  return rejectsWith(connect(address, { reconnect: false, connectTimeoutMs: 5000, ...options }));
}

/** A TCP relay in front of `target` that keeps every byte it forwards in either direction. */
async function recordingRelay(target: string): Promise<{ address: string; bytes: () => Buffer }> {
  const port = Number(/:(\d+)$/.exec(target)![1]);
  const seen: Buffer[] = [];
  const relay = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port });
    inbound.on('data', (d: Buffer) => {
      seen.push(d);
      outbound.write(d);
    });
    outbound.on('data', (d: Buffer) => {
      seen.push(d);
      inbound.write(d);
    });
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.on('error', () => {});
    outbound.on('error', () => {});
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => relay.close(() => r())));
  return { address: `tls://127.0.0.1:${(relay.address() as net.AddressInfo).port}`, bytes: () => Buffer.concat(seen) };
}

describe('TLS round trips', () => {
  it.each(['tls://127.0.0.1:0', 'tls://[::1]:0'])('%s: calls work, the path says TLS, and the bytes on the wire are encrypted', async (listen) => {
    const { server, paths } = await tlsServer({ listen });
    expect(server.address).toMatch(/^tls:\/\//);
    // fastPath 'off': the connection stays on TLS over TCP, as with a remote peer.
    const client = await tlsClient(server.address, { fastPath: 'off' });
    expect(client.pathInfo).toEqual({ path: 'tcp', reason: 'fastPath is off for this connection', tls: true });
    const secret = 'attack at dawn, tls test marker 7f3a';
    expect(await client.call('Echo.say', secret)).toBe(secret);
    await until(() => paths.length === 1, 5000, 'the server path event');
    expect(paths[0]).toMatchObject({ path: 'tcp', tls: true });

    // The same call through a relay that records the bytes: the marker never appears in clear.
    if (listen.includes('[')) return; // the relay forwards to IPv4 only; the IPv4 case checks it
    const relay = await recordingRelay(server.address);
    const viaRelay = await tlsClient(relay.address, { fastPath: 'off' });
    expect(await viaRelay.call('Echo.say', secret)).toBe(secret);
    const wire = relay.bytes();
    expect(wire.length).toBeGreaterThan(secret.length);
    expect(wire.includes(Buffer.from(secret))).toBe(false);
    expect(wire[0]).toBe(0x16); // a TLS handshake record opens the connection
  });

  it('pipelined calls (coalesced writes) and a 1 MiB payload over TLS arrive intact and in order', async () => {
    const { server } = await tlsServer({ tlsLocal: 'require' });
    const client = await tlsClient(server.address);
    expect(client.pathInfo.tls).toBe(true);
    // 2000 calls written in one tick: NetConnection coalesces them into a few TLS writes.
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => client.call('Echo.say', `m${i}`)));
    expect(results.every((r, i) => r === `m${i}`)).toBe(true);
    const big = 'x'.repeat(1024 * 1024);
    expect(await client.call('Echo.say', big)).toBe(big);
  });

  it('mutual TLS: a client certificate signed by the trusted CA is accepted', async () => {
    const { server, errors } = await tlsServer({ tls: { ca: certs.ca, requestCert: true } });
    const client = await tlsClient(server.address, { fastPath: 'off', tls: { cert: certs.client.cert, key: certs.client.key } });
    expect(await client.call('Echo.say', 'mtls')).toBe('mtls');
    expect(client.pathInfo.tls).toBe(true);
    expect(errors).toEqual([]);
  });
});

describe('TLS failures: UNAVAILABLE with the TLS reason; the server keeps serving', () => {
  it.each([
    ['TLS 1.3', {}, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'],
    ['TLS 1.2', { maxVersion: 'TLSv1.2' as const }, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'],
  ])('mutual TLS, %s: a client without a certificate is refused', async (_name, version, clientCode) => {
    const { server, errors } = await tlsServer({ tls: { ca: certs.ca, requestCert: true } });
    const err = await failing(server.address, { tls: { ca: certs.ca, ...version } });
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.details).toMatchObject({ reason: 'tls-failed', tlsCode: clientCode });
    expect(err.message).toContain(clientCode);
    await until(() => errors.length > 0, 5000, 'the server error event');
    expect(errors[0]!.details).toMatchObject({ reason: 'tls-failed', tlsCode: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' });
    expect(errors[0]!.message).toMatch(/TLS handshake with tls:\/\/127\.0\.0\.1:\d+ \(on tls:\/\/127\.0\.0\.1:\d+\) failed: the client sent no certificate/);
    // Still serving.
    const ok = await tlsClient(server.address, { tls: { cert: certs.client.cert, key: certs.client.key } });
    expect(await ok.call('Echo.say', 'still here')).toBe('still here');
  });

  it('mutual TLS: a client certificate from an untrusted CA is rejected; the server says why, the client gets a hint', async () => {
    const { server, errors } = await tlsServer({ tls: { ca: certs.ca, requestCert: true } });
    const err = await failing(server.address, { tls: { ca: certs.ca, cert: certs.rogue.cert, key: certs.rogue.key } });
    expect(err.code).toBe('UNAVAILABLE');
    // TLS 1.3: the server checks the certificate after the client's side of the handshake is done
    // and closes without an alert, so the client can only say what most likely happened.
    expect(err.message).toContain("most likely rejected this client's certificate");
    await until(() => errors.length > 0, 5000, 'the server error event');
    expect(errors[0]!.details).toMatchObject({ reason: 'tls-failed', tlsCode: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(errors[0]!.message).toContain("the client's certificate was rejected");
  });

  it.each([
    ['signed by an untrusted CA', 'rogue', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', /not signed by a trusted CA/],
    ['self-signed', 'selfSigned', 'DEPTH_ZERO_SELF_SIGNED_CERT', /self-signed and not trusted/],
    ['expired', 'expired', 'CERT_HAS_EXPIRED', /has expired/],
  ] as const)('a server certificate %s is refused by the client', async (_what, which, code, text) => {
    const { server, errors } = await tlsServer({}, certs[which]);
    const err = await failing(server.address, { tls: { ca: certs.ca } });
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.details).toMatchObject({ reason: 'tls-failed', tlsCode: code });
    expect(err.message).toMatch(text);
    expect(err.message).toContain(`TLS handshake with ${server.address} failed`);
    // The server sees the client hang up during the handshake.
    await until(() => errors.length > 0, 5000, 'the server error event');
    expect(errors[0]!.details?.reason).toBe('tls-failed');
    // rejectUnauthorized: false accepts it (and says the certificate was not verified).
    const lax = await tlsClient(server.address, { fastPath: 'off', tls: { rejectUnauthorized: false } });
    expect(await lax.call('Echo.say', 'lax')).toBe('lax');
  });

  it('hostname mismatch: a certificate without the address in its names is refused', async () => {
    // The SNI certificate names only sni.test; the client connects to 127.0.0.1.
    const { server } = await tlsServer({}, certs.sni);
    const err = await failing(server.address, { tls: { ca: certs.ca } });
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.details).toMatchObject({ reason: 'tls-failed', tlsCode: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(err.message).toContain("127.0.0.1 is not in the cert's list");
  });

  it('tls:// without a certificate, bad PEM, or a misspelt tlsLocal is an invalid option', async () => {
    const err = await rejectsWith(new Server({ listen: 'tls://127.0.0.1:0' }).start());
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.details?.reason).toBe('bad-option');
    expect(err.message).toContain('needs a certificate');
    const pem = await rejectsWith(new Server({ listen: 'tls://127.0.0.1:0', tls: { cert: 'not a certificate', key: 'nor a key' } }).start());
    expect(pem.code).toBe('INVALID_ARGUMENT');
    expect(pem.message).toContain('invalid TLS options');
    // tlsLocal guards a security property: a typo must not silently mean 'skip'.
    let thrown: unknown;
    try {
      new Server({ tlsLocal: 'requre' as 'require' });
    } catch (e) {
      thrown = e;
    }
    expect(FastpathError.is(thrown) && thrown.code).toBe('INVALID_ARGUMENT');
    const { server } = await tlsServer();
    const badKey = await failing(server.address, { tls: { ca: certs.ca, cert: certs.client.cert, key: 'not a key' } });
    expect(badKey.code).toBe('INVALID_ARGUMENT');
    expect(badKey.message).toContain('invalid TLS options');
    const typo = await failing(server.address, { tls: { ca: certs.ca }, tlsLocal: 'Require' as 'require' });
    expect(typo.code).toBe('INVALID_ARGUMENT');
    expect(typo.message).toContain("tlsLocal must be 'skip' or 'require'");
  });
});

describe('SNI', () => {
  it('the server presents the certificate for the name the client asks for', async () => {
    const { server } = await tlsServer({ tls: { sni: { [SNI_NAME]: certs.sni } } });
    // sni.test only verifies if the server picked the SNI certificate (the default one lacks that name).
    const named = await tlsClient(server.address, { fastPath: 'off', tls: { servername: SNI_NAME } });
    expect(await named.call('Echo.say', 'sni')).toBe('sni');
    // No name (an IP address): the default certificate, which has 127.0.0.1.
    const plain = await tlsClient(server.address, { fastPath: 'off' });
    expect(await plain.call('Echo.say', 'default')).toBe('default');
    // A name the map does not have also gets the default certificate, which does not carry it.
    const other = await failing(server.address, { tls: { ca: certs.ca, servername: 'other.test' } });
    expect(other.details).toMatchObject({ reason: 'tls-failed', tlsCode: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });
});

describe('tlsLocal', () => {
  it("'skip' (default): a same-host TLS connection is upgraded, and both ends say TLS was skipped", async () => {
    const { server, paths } = await tlsServer();
    const expected = server.fastPathStatus().shm === undefined ? 'shm' : 'uds';
    const client = await tlsClient(server.address);
    expect(client.pathInfo.path).toBe(expected);
    expect(client.pathInfo.tls).toBe('skipped-same-host');
    expect(await client.call('Echo.say', 'fast')).toBe('fast');
    await until(() => paths.length === 1, 5000, 'the server path event');
    expect(paths[0]).toMatchObject({ path: expected, tls: 'skipped-same-host' });

    const uds = await tlsClient(server.address, { tiers: ['uds'] });
    expect(uds.pathInfo).toMatchObject({ path: 'uds', tls: 'skipped-same-host' });
    expect(await uds.call('Echo.say', 'uds')).toBe('uds');
  });

  it("'skip': a client in another process is upgraded too", async () => {
    const { server } = await tlsServer();
    const child = spawnTs(`${repoRoot}test/fixtures/tls-client.ts`, [server.address, JSON.stringify({ tls: { ca: certs.ca } })]);
    closers.push(() => child.kill('SIGKILL'));
    const out = (await child.ready) as { ok: boolean; pathInfo: PathInfo; echo: string };
    expect(out.ok).toBe(true);
    expect(out.pathInfo.tls).toBe('skipped-same-host');
    expect(['shm', 'uds']).toContain(out.pathInfo.path);
    expect(out.echo).toMatch(/^from \d+$/);
  });

  it("'require' on the client keeps the connection on TLS over TCP, and the path says why", async () => {
    const { server, paths } = await tlsServer();
    const client = await tlsClient(server.address, { tlsLocal: 'require' });
    expect(client.pathInfo).toEqual({ path: 'tcp', reason: "TLS required (client tlsLocal is 'require')", tls: true });
    expect(await client.call('Echo.say', 'tls')).toBe('tls');
    await until(() => paths.length === 1, 5000, 'the server path event');
    expect(paths[0]).toEqual({ path: 'tcp', reason: "TLS required (client tlsLocal is 'require')", tls: true });
  });

  it("'require' on the server: it never offers a same-host tier on a TLS connection (plain TCP still upgrades)", async () => {
    const { server } = await tlsServer({ tlsLocal: 'require', listen: ['tls://127.0.0.1:0', 'tcp://127.0.0.1:0'] });
    const [tlsAddress, tcpAddress] = server.addresses;
    const client = await tlsClient(tlsAddress!);
    expect(client.pathInfo).toEqual({ path: 'tcp', reason: "TLS required (server tlsLocal is 'require')", tls: true });
    expect(await client.call('Echo.say', 'tls')).toBe('tls');
    const plain = await tlsClient(tcpAddress!);
    expect(plain.pathInfo.path).not.toBe('tcp');
    expect(plain.pathInfo.tls).toBeUndefined();
    // fastPath 'require' cannot be had on a TLS connection the server keeps on TLS.
    const err = await failing(tlsAddress!, { fastPath: 'require', tls: { ca: certs.ca } });
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toContain("fast path required, but TLS required (server tlsLocal is 'require')");
  });
});

describe('pub-sub and streams over TLS', () => {
  it('a subscription, publishes and a server stream on connections kept on TLS', async () => {
    const { server } = await tlsServer({ tlsLocal: 'require' });
    const subscriber = await tlsClient(server.address);
    const publisher = await tlsClient(server.address, { tls: { cert: certs.client.cert, key: certs.client.key } });
    expect(subscriber.pathInfo.tls).toBe(true);
    expect(publisher.pathInfo.tls).toBe(true);

    const sub = subscriber.subscribe<{ n: number }>('tls.*');
    await sub.ready;
    for (let n = 1; n <= 20; n++) await publisher.publish(`tls.${n % 2 ? 'odd' : 'even'}`, { n }, { ack: true });
    const got: Array<[string, number]> = [];
    for await (const m of sub) {
      got.push([m.subject, m.data.n]);
      if (got.length === 20) break;
    }
    expect(got.map(([, n]) => n)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(got[0]).toEqual(['tls.odd', 1]);

    const counted: number[] = [];
    for await (const n of publisher.serverStream<number>('Count.to', 500)) counted.push(n);
    expect(counted).toHaveLength(500);
    expect(counted[499]).toBe(500);
  });
});

describe('non-TLS peers on a TLS port', () => {
  it('garbage, a plain fastpath client and an empty connection are reported and do not stop the server', async () => {
    const { server, errors } = await tlsServer();
    const port = Number(/:(\d+)$/.exec(server.address)![1]);
    const raw = async (bytes: Buffer | undefined): Promise<void> => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      await new Promise<void>((r) => s.once('connect', () => r()));
      if (bytes) s.write(bytes);
      else s.end();
      await new Promise<void>((r) => {
        s.once('close', () => r());
        setTimeout(() => {
          s.destroy();
          r();
        }, 2000).unref();
      });
    };
    await raw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await raw(Buffer.from([0xff, 0x00, 0x13, 0x37, 0x42, 0x42, 0x42, 0x42, 0x00, 0x01]));
    await raw(undefined);
    // A fastpath client that speaks plain TCP to the TLS port fails, and nothing crashes.
    const plain = await failing(server.address.replace('tls://', 'tcp://'), { fastPath: 'off', connectTimeoutMs: 3000, handshakeTimeoutMs: 3000 });
    expect(plain.code).toBe('UNAVAILABLE');
    await until(() => errors.length >= 3, 5000, 'three error events');
    for (const e of errors) expect(e.details?.reason).toBe('tls-failed');
    expect(errors.some((e) => String(e.details?.tlsCode).startsWith('ERR_SSL_'))).toBe(true);
    const client = await tlsClient(server.address);
    expect(await client.call('Echo.say', 'alive')).toBe('alive');
  });
});
