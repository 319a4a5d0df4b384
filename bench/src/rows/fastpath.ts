import { connect, type Client } from '@fastpath/core';
import { withPeer } from '../peer-process.js';
import type { EchoChannel, EchoDone } from '../ping-pong.js';
import { checkTier, clientOptions, serverArgs, targetSkipReason, type FastpathTarget } from '../targets.js';
import type { Row, RowGoal } from './row.js';

export const FASTPATH_ECHO_PEER = new URL('../peers/fastpath-echo.ts', import.meta.url);
export const ECHO_METHOD = 'Bench.echo';

/** Each round trip is one `await client.call('Bench.echo', payload)`, as an application would do. */
export function callChannel(client: Client): EchoChannel {
  let pending: EchoDone | null = null;
  const take = (): EchoDone | null => {
    const d = pending;
    pending = null;
    return d;
  };
  const onResult = (res: unknown): void => {
    const d = take();
    if (res instanceof Uint8Array) d?.(null, res);
    else d?.(new Error(`${ECHO_METHOD} returned ${typeof res}, not the bytes sent`));
  };
  const onError = (err: unknown): void => {
    take()?.(err instanceof Error ? err : new Error(String(err)));
  };
  return {
    send(payload, done) {
      pending = done;
      client.call(ECHO_METHOD, payload).then(onResult, onError);
    },
  };
}

/** Starts the echo server for `target`, connects a client on the target's tier, and runs `fn`. */
export function withFastpathClient<T>(target: FastpathTarget, fn: (client: Client, details: Record<string, string | number>) => Promise<T>): Promise<T> {
  return withPeer(FASTPATH_ECHO_PEER, serverArgs(target), async (peer) => {
    const client = await connect(peer.info.address, clientOptions(target));
    try {
      checkTier(client, target);
      return await fn(client, { peer: peer.info.address, peerPid: peer.info.pid, path: client.path, ...(target.shmMode ? { shmMode: target.shmMode } : {}) });
    } finally {
      await client.close();
    }
  });
}

const DESCRIPTION: Record<string, string> = {
  tcp: 'over tcp://127.0.0.1 (tier tcp, fast-path upgrade off at both ends)',
  uds: 'over tcp://127.0.0.1, upgraded to the uds tier (Unix socket; fastPath require, tiers [uds])',
  shm: 'over tcp://127.0.0.1, upgraded to the shm tier (shared-memory rings; fastPath require, tiers [shm])',
};

/** A ping-pong row for one fastpath tier and mode: Server.handle('Bench.echo', (req) => req) in the peer. */
export function fastpathRow(target: FastpathTarget, goal?: RowGoal): Row {
  return {
    name: target.row,
    description: `fastpath Client.call('${ECHO_METHOD}') ${DESCRIPTION[target.tier]}${target.shmMode ? `, mode ${target.shmMode} at both ends` : ''}`,
    ...(goal ? { goal } : {}),
    async skipReason() {
      return targetSkipReason(target);
    },
    withSession: (fn) => withFastpathClient(target, (client, details) => fn({ details, channel: async () => callChannel(client) })),
  };
}
