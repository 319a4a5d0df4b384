// Hostile and broken peers, driven byte by byte over real sockets, on every transport.
import net from 'node:net';
import { buildFrame, connect, decode, encode, FastpathError, FrameType, ProtocolError, Server, Status, type Client } from '@fastpath/core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { calcHandlers, type Calc } from './fixtures/calc.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { RawPeer } from './helpers/raw-peer.js';
import { rejectsWith, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

function goaway(frame: { body: Buffer }): { status: number; message: string; lastId: number } {
  const [status, message, lastId] = decode(frame.body) as [number, string, number];
  return { status, message, lastId };
}

describe.each(transports)('bad input over $name', (tc) => {
  let server: Server;
  let errors: FastpathError[];
  let good: Client;

  beforeEach(async () => {
    errors = [];
    server = new Server({ listen: tc.listen(), ...tc.server, maxFrameBytes: 64 * 1024, handshakeTimeoutMs: 300 });
    server.addService<Calc>('Calc', calcHandlers());
    server.on('error', (e) => errors.push(e));
    await server.start();
    good = await connect(server.address, tc.client);
  });

  afterEach(async () => {
    await good.close();
    await server.close({ graceMs: 100 });
  });

  /** A well-behaved client keeps getting correct answers. */
  async function goodClientStillServed(): Promise<void> {
    expect(await good.call('Calc.add', { a: 20, b: 22 })).toEqual({ sum: 42 });
  }

  it('closes on garbage bytes with GOAWAY(protocol error) and an error event; others unaffected', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    const g = goaway(await raw.next(FrameType.GOAWAY));
    expect(g.status).toBe(Status.INTERNAL);
    expect(g.message).toMatch(/protocol error/);
    await raw.waitClosed();
    await until(() => errors.length > 0, 3000, 'server error event');
    expect(ProtocolError.is(errors[0])).toBe(true);
    await goodClientStillServed();
  });

  it('closes on an unknown frame type after the handshake', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.hello();
    await raw.next(FrameType.WELCOME);
    const f = buildFrame(FrameType.PING, 0, 1);
    f[4] = 0x42;
    raw.write(f);
    const g = goaway(await raw.next(FrameType.GOAWAY));
    expect(g.message).toMatch(/unknown frame type 0x42/);
    await raw.waitClosed();
    expect((errors[0] as ProtocolError).reason).toBe('unknown-frame-type');
    await goodClientStillServed();
  });

  it('refuses an incompatible protocol version with FAILED_PRECONDITION', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.hello({ versions: [99] });
    const g = goaway(await raw.next(FrameType.GOAWAY));
    expect(g.status).toBe(Status.FAILED_PRECONDITION);
    expect(g.message).toMatch(/incompatible protocol version.*\[99\].*\[1\]/);
    await raw.waitClosed();
    await goodClientStillServed();
  });

  it('answers a frame over maxFrameBytes with RESOURCE_EXHAUSTED, from the header alone', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.hello();
    await raw.next(FrameType.WELCOME);
    const header = Buffer.alloc(12);
    header.writeUInt32LE(0x7fffffff, 0);
    header[4] = FrameType.REQUEST;
    header.writeUInt32LE(1, 8);
    raw.write(header); // no body follows: the server must not wait for 2 GiB
    const g = goaway(await raw.next(FrameType.GOAWAY));
    expect(g.status).toBe(Status.RESOURCE_EXHAUSTED);
    expect(g.message).toMatch(/exceeds maxFrameBytes 65536/);
    await raw.waitClosed();
    await goodClientStillServed();
  });

  it('requires HELLO first', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.write(buildFrame(FrameType.REQUEST, 0, 1, encode(['Calc.add', null, null, { a: 1, b: 1 }])));
    const g = goaway(await raw.next(FrameType.GOAWAY));
    expect(g.message).toMatch(/expected HELLO/);
    await raw.waitClosed();
  });

  it('rejects a HELLO that is not a fastpath HELLO', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.write(buildFrame(FrameType.HELLO, 0, 0, encode({ proto: 'other' })));
    expect(goaway(await raw.next(FrameType.GOAWAY)).message).toMatch(/HELLO must be a map with proto "fastpath"/);
    await raw.waitClosed();
  });

  it('closes a connection that never says HELLO (handshake timeout)', async () => {
    const raw = await RawPeer.connect(server.address);
    const g = goaway(await raw.next(FrameType.GOAWAY, 3000));
    expect(g.message).toMatch(/no HELLO within 300 ms/);
    await raw.waitClosed();
  });

  it('closes on a malformed REQUEST body and on a duplicate request id', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.hello();
    await raw.next(FrameType.WELCOME);
    raw.write(buildFrame(FrameType.REQUEST, 0, 1, Buffer.from([0xc1])));
    expect(goaway(await raw.next(FrameType.GOAWAY)).message).toMatch(/REQUEST body must be a 4-element array|not valid MessagePack/);
    await raw.waitClosed();

    const raw2 = await RawPeer.connect(server.address);
    raw2.hello();
    await raw2.next(FrameType.WELCOME);
    const req = buildFrame(FrameType.REQUEST, 0, 5, encode(['Calc.slow', null, null, { ms: 2000 }]));
    raw2.write(Buffer.concat([req, req]));
    const g = goaway(await raw2.next(FrameType.GOAWAY));
    expect(g.message).toMatch(/request id 5 is already in flight/);
    expect(g.lastId).toBe(5);
    await raw2.waitClosed();
    await goodClientStillServed();
  });

  it('answers UNIMPLEMENTED over a raw socket and keeps the connection', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.hello();
    await raw.next(FrameType.WELCOME);
    raw.write(buildFrame(FrameType.REQUEST, 0, 3, encode(['No.such', null, null, null])));
    const f = await raw.next(FrameType.ERROR);
    expect(f.id).toBe(3);
    expect(decode(f.body)).toEqual([Status.UNIMPLEMENTED, 'unknown method "No.such"', { method: 'No.such' }]);
    raw.write(buildFrame(FrameType.REQUEST, 0, 4, encode(['Calc.add', null, null, { a: 1, b: 2 }])));
    const ok = await raw.next(FrameType.RESPONSE);
    expect(ok.id).toBe(4);
    expect(decode(ok.body)).toEqual({ sum: 3 });
    raw.destroy();
  });

  it('closes on a REQUEST with the reserved id 0', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.hello();
    await raw.next(FrameType.WELCOME);
    raw.write(buildFrame(FrameType.REQUEST, 0, 0, encode(['Calc.add', null, null, { a: 1, b: 1 }])));
    expect(goaway(await raw.next(FrameType.GOAWAY)).message).toMatch(/request id 0 is reserved/);
    await raw.waitClosed();
    await goodClientStillServed();
  });

  it('accepts nil for optional HELLO fields, as other-language encoders write them', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.write(buildFrame(FrameType.HELLO, 0, 0, encode({ proto: 'fastpath', versions: [1], agent: 'other', caps: null, maxFrameBytes: 1 << 20, meta: null })));
    const w = decode((await raw.next(FrameType.WELCOME)).body) as { version: number };
    expect(w.version).toBe(1);
    raw.destroy();
  });

  it('shortens an ERROR that would exceed the client maxFrameBytes instead of breaking the connection', async () => {
    const small = await connect(server.address, { ...tc.client, maxFrameBytes: 4096 });
    try {
      const err = await rejectsWith(small.call('Calc.fail', { message: 'x'.repeat(20_000), code: 'NOT_FOUND' }));
      expect(err.code).toBe('NOT_FOUND');
      expect(err.message.length).toBeLessThan(4096);
      expect(await small.call('Calc.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    } finally {
      await small.close();
    }
  });

  it('answers PING with PONG carrying the same id', async () => {
    const raw = await RawPeer.connect(server.address);
    raw.hello();
    await raw.next(FrameType.WELCOME);
    raw.write(buildFrame(FrameType.PING, 0, 0xabcdef));
    expect((await raw.next(FrameType.PONG)).id).toBe(0xabcdef);
    raw.destroy();
  });

  it('survives many bad connections at once while serving a good client', async () => {
    const raws = await Promise.all(Array.from({ length: 20 }, () => RawPeer.connect(server.address)));
    raws.forEach((r, i) => r.write(Buffer.alloc(13 + i, 0xff)));
    await Promise.all(raws.map((r) => r.waitClosed()));
    await goodClientStillServed();
  });
});

describe('dead and silent peers', () => {
  it('a server detects a client that stops answering keepalive pings', async () => {
    const server = new Server({ listen: 'tcp://127.0.0.1:0', keepaliveMs: 50, keepaliveTimeoutMs: 100 });
    const errors: FastpathError[] = [];
    server.on('error', (e) => errors.push(e));
    await server.start();
    try {
      const raw = await RawPeer.connect(server.address);
      raw.hello();
      await raw.next(FrameType.WELCOME);
      // The raw peer never answers PING.
      await raw.next(FrameType.PING, 2000);
      await raw.waitClosed(3000);
      await until(() => errors.length > 0, 2000, 'keepalive error');
      expect(errors[0]!.details?.reason).toBe('keepalive-timeout');
    } finally {
      await server.close({ graceMs: 10 });
    }
  });

  it('a client detects a server that stops answering keepalive pings', async () => {
    const raws: RawPeer[] = [];
    const rawServer = net.createServer((s) => {
      const peer = RawPeer.wrap(s);
      raws.push(peer);
      void peer.next(FrameType.HELLO).then(() => {
        peer.write(buildFrame(FrameType.WELCOME, 0, 0, encode({ version: 1, agent: 'raw', caps: [], maxFrameBytes: 1 << 20, keepaliveMs: 0 })));
      });
    });
    await new Promise<void>((r) => rawServer.listen(0, '127.0.0.1', r));
    const port = (rawServer.address() as net.AddressInfo).port;
    try {
      const client = await connect(`tcp://127.0.0.1:${port}`, { keepaliveMs: 50, keepaliveTimeoutMs: 100, reconnect: false });
      const closed = new Promise<FastpathError>((r) => client.once('close', r));
      const pending = rejectsWith(client.call('Any.thing', {}));
      const reason = await closed;
      expect(reason.code).toBe('UNAVAILABLE');
      expect(reason.details?.reason).toBe('keepalive-timeout');
      const err = await pending;
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toMatch(/keepalive/);
    } finally {
      for (const r of raws) r.destroy();
      rawServer.close();
    }
  });

  it('a client refused with an incompatible version gets FAILED_PRECONDITION from connect()', async () => {
    const rawServer = net.createServer((s) => {
      const peer = RawPeer.wrap(s);
      void peer.next(FrameType.HELLO).then(() => {
        peer.write(buildFrame(FrameType.GOAWAY, 0, 0, encode([Status.FAILED_PRECONDITION, 'incompatible protocol version: peer offers [1], this side supports [2]', 0])));
        s.end();
      });
    });
    await new Promise<void>((r) => rawServer.listen(0, '127.0.0.1', r));
    try {
      const err = await rejectsWith(connect(`tcp://127.0.0.1:${(rawServer.address() as net.AddressInfo).port}`));
      expect(err.code).toBe('FAILED_PRECONDITION');
      expect(err.message).toMatch(/incompatible protocol version/);
    } finally {
      rawServer.close();
    }
  });

  it('connect() rejects when the server picks a version the client did not offer', async () => {
    const rawServer = net.createServer((s) => {
      const peer = RawPeer.wrap(s);
      void peer.next(FrameType.HELLO).then(() => {
        peer.write(buildFrame(FrameType.WELCOME, 0, 0, encode({ version: 99, agent: 'raw', caps: [], maxFrameBytes: 1 << 20, keepaliveMs: 0 })));
      });
    });
    await new Promise<void>((r) => rawServer.listen(0, '127.0.0.1', r));
    try {
      const err = await rejectsWith(connect(`tcp://127.0.0.1:${(rawServer.address() as net.AddressInfo).port}`));
      expect(err.message).toMatch(/server chose protocol version 99, which was not offered/);
    } finally {
      rawServer.close();
    }
  });

  it('fails pending calls with UNAVAILABLE when the server socket dies mid-call', async () => {
    const rawServer = net.createServer((s) => {
      const peer = RawPeer.wrap(s);
      void peer.next(FrameType.HELLO).then(async () => {
        peer.write(buildFrame(FrameType.WELCOME, 0, 0, encode({ version: 1, agent: 'raw', caps: [], maxFrameBytes: 1 << 20, keepaliveMs: 0 })));
        await peer.next(FrameType.REQUEST);
        s.destroy();
      });
    });
    await new Promise<void>((r) => rawServer.listen(0, '127.0.0.1', r));
    try {
      const client = await connect(`tcp://127.0.0.1:${(rawServer.address() as net.AddressInfo).port}`, { reconnect: false });
      const err = await rejectsWith(client.call('X.y', {}));
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.details?.reason).toBe('connection-lost');
      expect(client.closed).toBe(true);
    } finally {
      rawServer.close();
    }
  });

  it('a RESPONSE whose body does not decode fails the connection and the call with it (found by the live client fuzz)', async () => {
    const rawServer = net.createServer((s) => {
      const peer = RawPeer.wrap(s);
      void peer.next(FrameType.HELLO).then(async () => {
        peer.write(buildFrame(FrameType.WELCOME, 0, 0, encode({ version: 1, agent: 'raw', caps: [], maxFrameBytes: 1 << 20, keepaliveMs: 0 })));
        const req = await peer.next(FrameType.REQUEST);
        // A fixarray of 4 holding one truncated string: not MessagePack.
        peer.write(buildFrame(FrameType.RESPONSE, 0, req.id, Buffer.from([0x94, 0xa1])));
      });
    });
    await new Promise<void>((r) => rawServer.listen(0, '127.0.0.1', r));
    try {
      const client = await connect(`tcp://127.0.0.1:${(rawServer.address() as net.AddressInfo).port}`, { reconnect: false });
      const closed = new Promise<FastpathError>((r) => client.once('close', r));
      const err = await rejectsWith(client.call('X.y', {}));
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.details?.reason).toBe('connection-lost');
      expect((await closed).message).toMatch(/MessagePack|decode|malformed/i);
    } finally {
      rawServer.close();
    }
  });

  it('connect() fails with UNAVAILABLE when nothing listens', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await rejectsWith(connect(`tcp://127.0.0.1:${port}`));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});

describe('fire-and-forget publish', () => {
  it('never rejects on a closed connection; the failure is an error event', async () => {
    const server = new Server({ listen: 'tcp://127.0.0.1:0' });
    await server.start();
    const client = await connect(server.address, { fastPath: 'off' });
    const errors: FastpathError[] = [];
    client.on('error', (e) => errors.push(e));
    await client.close();
    await expect(client.publish('a.b', 1)).resolves.toBeUndefined();
    expect(errors.map((e) => e.code)).toEqual(['UNAVAILABLE']);
    expect((await rejectsWith(client.publish('a.b', 1, { ack: true }))).code).toBe('UNAVAILABLE');
    await server.close();
  });
});
