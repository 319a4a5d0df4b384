import { connect, Server, type Client, type FastpathError, type ServiceClient } from '@fastpath/core';
import { afterEach, beforeEach } from 'vitest';
import { newObserved, StreamerDef, streamerHandlers, type StreamObserved, type Streamer } from '../fixtures/streamer.js';
import type { TransportCase } from './matrix.js';

/** What each stream test gets from streamsHarness(). */
export interface StreamsSetup {
  server: Server;
  client: Client;
  /** The client's typed proxy of the Streamer service. */
  svc: ServiceClient<Streamer>;
  /** What the server's Streamer handlers observed (test/fixtures/streamer.ts). */
  o: StreamObserved;
  /** The server's 'error' events. */
  errors: FastpathError[];
}

/**
 * The setup every stream suite shares, over one transport of the matrix: before each test, a
 * server with the Streamer service and a client connected to it, handed to `use`; after it, the
 * handlers' valve is opened and both are closed. Call it inside the suite's `describe.each(transports)`.
 */
export function streamsHarness(tc: TransportCase, use: (setup: StreamsSetup) => void): void {
  let server: Server;
  let client: Client;
  let o: StreamObserved;
  let errors: FastpathError[];

  beforeEach(async () => {
    o = newObserved();
    errors = [];
    server = new Server({ listen: tc.listen(), ...tc.server });
    server.addService(StreamerDef, streamerHandlers(o));
    server.on('error', (e) => errors.push(e));
    await server.start();
    client = await connect(server.address, tc.client);
    use({ server, client, svc: client.service(StreamerDef), o, errors });
  });

  afterEach(async () => {
    o.valve.allow(1e9);
    await client.close();
    await server.close({ graceMs: 100 });
  });
}
