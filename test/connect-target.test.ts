// connect() with a list of addresses, a resolver, and a retried first connect (issue 6, part 1).
import net from 'node:net';
import { buildFrame, connect, encode, FrameType, Server, Status } from '@fastpath/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RawPeer } from './helpers/raw-peer.js';
import { rejectsWith } from './helpers/util.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A loopback port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

async function startServer(listen = 'tcp://127.0.0.1:0'): Promise<Server> {
  const server = new Server({ listen, fastPath: 'off' });
  server.handle('T.who', () => server.address);
  await server.start();
  closers.push(() => server.close({ graceMs: 10 }));
  return server;
}

describe('connect targets', () => {
  it('tries a list of addresses in order and uses the first that answers', async () => {
    const server = await startServer();
    const dead = `tcp://127.0.0.1:${await deadPort()}`;
    const client = await connect([dead, server.address], { fastPath: 'off' });
    closers.push(() => client.close());
    expect(client.address).toBe(server.address);
    expect(await client.call('T.who')).toBe(server.address);
  });

  it('calls a resolver for the address', async () => {
    const server = await startServer();
    let calls = 0;
    const client = await connect(
      async () => {
        calls++;
        return server.address;
      },
      { fastPath: 'off' },
    );
    closers.push(() => client.close());
    expect(calls).toBe(1);
    expect(client.address).toBe(server.address);
  });

  it('does not retry by default, and says how many attempts it made', async () => {
    const err = await rejectsWith(connect(`tcp://127.0.0.1:${await deadPort()}`, { fastPath: 'off' }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.details?.attempts).toBe(1);
    expect(err.message).toMatch(/ECONNREFUSED.*after 1 attempt\)/);
  });

  it('retries the first connect with backoff until the server is up, asking the resolver each round', async () => {
    const port = await deadPort();
    let rounds = 0;
    setTimeout(() => void startServer(`tcp://127.0.0.1:${port}`), 300);
    const client = await connect(
      () => {
        rounds++;
        return `tcp://127.0.0.1:${port}`;
      },
      { fastPath: 'off', connectRetry: { attempts: 50, initialDelayMs: 20, maxDelayMs: 100 } },
    );
    closers.push(() => client.close());
    expect(rounds).toBeGreaterThan(1);
    expect(await client.call('T.who')).toBe(`tcp://127.0.0.1:${port}`);
  });

  it('gives up after the configured rounds', async () => {
    const dead = `tcp://127.0.0.1:${await deadPort()}`;
    const err = await rejectsWith(connect([dead, dead], { fastPath: 'off', connectRetry: { attempts: 3, initialDelayMs: 5 } }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.details?.attempts).toBe(6);
  });

  it('does not retry an error that retrying cannot fix (a refused protocol version)', async () => {
    let accepted = 0;
    const rawServer = net.createServer((s) => {
      accepted++;
      const peer = RawPeer.wrap(s);
      void peer.next(FrameType.HELLO).then(() => {
        peer.write(buildFrame(FrameType.GOAWAY, 0, 0, encode([Status.FAILED_PRECONDITION, 'incompatible protocol version', 0])));
        s.end();
      });
    });
    await new Promise<void>((r) => rawServer.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => rawServer.close(r)));
    const err = await rejectsWith(connect(`tcp://127.0.0.1:${(rawServer.address() as net.AddressInfo).port}`, { connectRetry: { attempts: 5, initialDelayMs: 5 } }));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(accepted).toBe(1);
  });

  it('stops retrying when its signal aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await rejectsWith(connect(`tcp://127.0.0.1:${await deadPort()}`, { fastPath: 'off', signal: ac.signal, connectRetry: { attempts: Infinity, initialDelayMs: 20 } }));
    expect(err.code).toBe('CANCELLED');
  });

  it('refuses an empty list with INVALID_ARGUMENT', async () => {
    expect((await rejectsWith(connect([]))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectsWith(connect(() => []))).code).toBe('INVALID_ARGUMENT');
  });
});
