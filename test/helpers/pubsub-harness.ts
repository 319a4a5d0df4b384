import { connect, Server, type Client, type ServerOptions } from '@fastpath/core';
import { afterEach, beforeEach } from 'vitest';
import type { TransportCase } from './matrix.js';
import type { Spawned } from './spawn.js';

/** What a pub-sub suite gets from pubsubHarness(). */
export interface PubsubHarness {
  /** Starts a server on the suite's transport; it is closed after the test. */
  startServer(extra?: ServerOptions): Promise<Server>;
  /** Connects a client to `s` (the test's server by default); it is closed after the test. */
  client(extra?: Parameters<typeof connect>[1], s?: Server): Promise<Client>;
  /** Subscriber processes a test starts: they are killed after it. */
  children: Spawned[];
}

/**
 * The setup every pub-sub suite shares, over one transport of the matrix: before each test a
 * server is started (and handed to `useServer`); after it, every process, client and server the
 * test started is killed or closed. Call it inside the suite's `describe.each(transports)`.
 */
export function pubsubHarness(tc: TransportCase, useServer: (server: Server) => void = () => {}): PubsubHarness {
  const servers: Server[] = [];
  const clients: Client[] = [];
  const children: Spawned[] = [];
  let server: Server;

  async function startServer(extra: ServerOptions = {}): Promise<Server> {
    const s = new Server({ listen: tc.listen(), ...tc.server, ...extra });
    await s.start();
    servers.push(s);
    return s;
  }

  async function client(extra: Parameters<typeof connect>[1] = {}, s: Server = server): Promise<Client> {
    const c = await connect(s.address, { ...tc.client, ...extra });
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    server = await startServer();
    useServer(server);
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await c.exited;
    }
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close({ graceMs: 100 })));
  });

  return { startServer, client, children };
}
