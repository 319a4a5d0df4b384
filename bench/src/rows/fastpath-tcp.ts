import { connect, type Client, type ClientOptions } from '@fastpath/core';
import { withPeer } from '../peer-process.js';
import { pingPong, type EchoChannel, type EchoDone } from '../ping-pong.js';
import type { Row, RowContext, RowMeasurement } from './row.js';

const ECHO_PEER = new URL('../peers/fastpath-echo.ts', import.meta.url);
const METHOD = 'Bench.echo';

/**
 * This row measures the TCP tier, so same-host upgrade (to uds/shm) is turned off at both ends;
 * the faster tiers get rows of their own. Typed as an intersection so this compiles against cores
 * that predate the fastPath option.
 */
const TCP_ONLY: ClientOptions & { fastPath: 'off' } = { fastPath: 'off' };

/** Each round trip is one `await client.call('Bench.echo', payload)`, as an application would do. */
function callChannel(client: Client): EchoChannel {
  let pending: EchoDone | null = null;
  const take = (): EchoDone | null => {
    const d = pending;
    pending = null;
    return d;
  };
  const onResult = (res: unknown): void => {
    const d = take();
    if (res instanceof Uint8Array) d?.(null, res);
    else d?.(new Error(`${METHOD} returned ${typeof res}, not the bytes sent`));
  };
  const onError = (err: unknown): void => {
    take()?.(err instanceof Error ? err : new Error(String(err)));
  };
  return {
    send(payload, done) {
      pending = done;
      client.call(METHOD, payload).then(onResult, onError);
    },
  };
}

/** fastpath over TCP IPv4: Server.handle('Bench.echo', (req) => req) in the peer, client.call here. */
export function fastpathTcpRow(): Row {
  return {
    name: 'fastpath-tcp',
    description: `fastpath Client.call('${METHOD}') over tcp://127.0.0.1 (tier tcp, fast-path upgrade off at both ends)`,
    goal: { maxP50Ratio: 1.15, source: 'issue 2' },
    measure: (ctx: RowContext): Promise<RowMeasurement> =>
      withPeer(ECHO_PEER, ['tcp://127.0.0.1:0', 'off'], async (peer) => {
        const client = await connect(peer.info.address, TCP_ONLY);
        try {
          // Never report a number under the wrong label.
          if (client.path !== 'tcp') throw new Error(`the connection runs on tier ${client.path}, not tcp: this row would measure the wrong thing`);
          const result = await pingPong(callChannel(client), ctx);
          return { ...result, details: { peer: peer.info.address, peerPid: peer.info.pid, path: client.path } };
        } finally {
          await client.close();
        }
      }),
  };
}
