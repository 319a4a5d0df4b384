/**
 * Cross-namespace TCP rows: the echo peer runs inside a Linux network namespace joined to this one
 * by a veth pair (test/helpers/netns.ts), so the connection crosses a real (virtual) link instead
 * of loopback, the way a container or a neighbouring host on a bridge is reached. fastpath sees a
 * different host identity there (the namespace is part of it), so it must stay on the tcp tier.
 * The rows are skipped, with the reason, where namespaces cannot be created (not Linux, not root,
 * no `ip` command).
 */
import { fileURLToPath } from 'node:url';
import { connect } from '@fastpath/core';
import { createNetns, netnsSupport } from '../../../test/helpers/netns.js';
import type { PeerInfo } from '../peer-process.js';
import { connectRawEcho } from '../raw-socket.js';
import type net from 'node:net';
import { callChannel, FASTPATH_ECHO_PEER } from './fastpath.js';
import { RAW_ECHO_PEER, rawChannel } from './raw.js';
import type { EchoSession, Row } from './row.js';

const READY_TIMEOUT_MS = 30_000;

/** Why the rows cannot run here, or undefined. */
export function netnsSkipReason(): string | undefined {
  const s = netnsSupport();
  return s.ok ? undefined : `network namespaces are unavailable here: ${s.reason}`;
}

/**
 * Creates a namespace, starts `script` inside it with `args(nsAddress)`, runs `fn` with the peer's
 * address line, and always deletes the namespace (which kills the peer) afterwards.
 */
async function withNetnsPeer<T>(script: URL, args: (nsAddress: string) => string[], fn: (info: PeerInfo, ns: { nsAddress: string; hostAddress: string }) => Promise<T>): Promise<T> {
  const ns = createNetns();
  try {
    const peer = ns.spawnTs(fileURLToPath(script), args(ns.nsAddress));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the peer in namespace ${ns.name} did not report its address within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    });
    let line: Record<string, unknown>;
    try {
      line = await Promise.race([peer.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (typeof line.error === 'string') throw new Error(`the peer in namespace ${ns.name} failed to start: ${line.error}`);
    if (typeof line.address !== 'string' || typeof line.pid !== 'number') throw new Error(`the peer's address line lacks address/pid: ${JSON.stringify(line)}`);
    return await fn(line as PeerInfo, ns);
  } finally {
    ns.destroy();
  }
}

/** Raw node:net TCP echo across the namespace boundary (veth), no framework. */
export function rawTcpNetnsRow(): Row {
  return {
    name: 'raw-tcp-netns',
    description: 'raw node:net TCP echo to a peer in another network namespace, over a veth pair, no framework, TCP_NODELAY',
    async skipReason() {
      return netnsSkipReason();
    },
    withSession: (fn) =>
      withNetnsPeer(RAW_ECHO_PEER, (addr) => [addr], async (info, ns) => {
        let socket: net.Socket | undefined;
        try {
          const session: EchoSession = {
            details: { peer: info.address, peerPid: info.pid, hostAddress: ns.hostAddress },
            async channel(bytes) {
              socket?.destroy();
              socket = await connectRawEcho(info, bytes);
              return rawChannel(socket, bytes);
            },
          };
          return await fn(session);
        } finally {
          socket?.destroy();
        }
      }),
  };
}

/**
 * fastpath to a peer in another network namespace: both ends allow the fast path (`auto`), and the
 * connection must stay on tcp because the host identities differ ("remote peer").
 */
export function fastpathTcpNetnsRow(): Row {
  return {
    name: 'fastpath-tcp-netns',
    description: "fastpath Client.call('Bench.echo') to a peer in another network namespace over a veth pair; fastPath auto at both ends, which must negotiate tier tcp",
    async skipReason() {
      return netnsSkipReason();
    },
    withSession: (fn) =>
      withNetnsPeer(FASTPATH_ECHO_PEER, (addr) => [`tcp://${addr}:0`, 'auto'], async (info) => {
        const client = await connect(info.address);
        try {
          if (client.path !== 'tcp') throw new Error(`the connection to another network namespace runs on tier ${client.path}, not tcp: the host identity check did not tell them apart`);
          return await fn({
            details: { peer: info.address, peerPid: info.pid, path: client.path, reason: client.pathInfo.reason ?? '' },
            channel: async () => callChannel(client),
          });
        } finally {
          await client.close();
        }
      }),
  };
}
