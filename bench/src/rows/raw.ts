import type net from 'node:net';
import { FixedMessages } from '../fixed-messages.js';
import { loopbackProblem } from '../loopback.js';
import { withPeer } from '../peer-process.js';
import type { EchoChannel, EchoDone } from '../ping-pong.js';
import { connectRawEcho } from '../raw-socket.js';
import type { EchoSession, Row } from './row.js';

export const RAW_ECHO_PEER = new URL('../peers/raw-echo.ts', import.meta.url);

/**
 * The client end of a raw ping-pong: plain socket.write, and a callback when the whole echo is
 * in. No promises, no framing beyond cutting fixed-size messages: this is the floor.
 */
export function rawChannel(socket: net.Socket, payloadBytes: number): EchoChannel {
  let pending: EchoDone | null = null;
  const finish = (err: Error | null, echo?: Uint8Array): void => {
    const d = pending;
    pending = null;
    d?.(err, echo);
  };
  const messages = new FixedMessages(payloadBytes, (msg) => finish(null, msg));
  socket.on('data', (chunk: Buffer) => messages.push(chunk));
  socket.on('error', (err) => finish(err));
  socket.on('close', () => finish(new Error('the echo peer closed the connection')));
  return {
    send(payload, done) {
      pending = done;
      socket.write(payload);
    },
  };
}

/**
 * Starts raw-echo.ts on `host` (127.0.0.1, ::1 or `unix`) and runs `fn` with a session whose
 * channels are raw sockets to it, one per payload size.
 */
function rawSession<T>(host: string, fn: (session: EchoSession) => Promise<T>): Promise<T> {
  return withPeer(RAW_ECHO_PEER, [host], async (peer) => {
    let socket: net.Socket | undefined;
    try {
      return await fn({
        details: { peer: peer.info.address, peerPid: peer.info.pid },
        async channel(bytes) {
          socket?.destroy();
          socket = await connectRawEcho(peer.info, bytes);
          return rawChannel(socket, bytes);
        },
      });
    } finally {
      socket?.destroy();
    }
  });
}

/** Raw node:net TCP echo, no framework, over IPv4 (127.0.0.1) or IPv6 ([::1]). */
export function rawTcpRow(family: 4 | 6): Row {
  const host = family === 4 ? '127.0.0.1' : '::1';
  return {
    name: family === 4 ? 'raw-tcp' : 'raw-tcp6',
    description: `raw node:net TCP echo over ${family === 4 ? '127.0.0.1' : '[::1]'}, no framework, TCP_NODELAY`,
    async skipReason() {
      if (family === 4) return undefined;
      const problem = await loopbackProblem(host);
      return problem === undefined ? undefined : `IPv6 loopback [::1] is unavailable here (${problem})`;
    },
    withSession: (fn) => rawSession(host, fn),
  };
}

/** Raw node:net echo over a Unix domain socket (a path in a fresh 0700 directory), no framework. */
export function rawUdsRow(): Row {
  return {
    name: 'raw-uds',
    description: 'raw node:net echo over a Unix domain socket, no framework',
    async skipReason() {
      return process.platform === 'win32' ? 'Unix domain sockets are not used on Windows' : undefined;
    },
    withSession: (fn) => rawSession('unix', fn),
  };
}
