import net from 'node:net';
import { FixedMessages } from '../fixed-messages.js';
import { loopbackProblem } from '../loopback.js';
import { withPeer } from '../peer-process.js';
import { pingPong, type EchoChannel, type EchoDone } from '../ping-pong.js';
import type { Row, RowContext, RowMeasurement } from './row.js';

const ECHO_PEER = new URL('../peers/raw-echo.ts', import.meta.url);

function connectTcp(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * The client end of a raw TCP ping-pong: plain socket.write, and a callback when the whole echo is
 * in. No promises, no framing beyond cutting fixed-size messages: this is the floor.
 */
function rawChannel(socket: net.Socket, payloadBytes: number): EchoChannel {
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
    measure: (ctx: RowContext): Promise<RowMeasurement> =>
      withPeer(ECHO_PEER, [host, String(ctx.payloadBytes)], async (peer) => {
        const socket = await connectTcp(host, peer.info.port as number);
        try {
          socket.setNoDelay(true);
          const result = await pingPong(rawChannel(socket, ctx.payloadBytes), ctx);
          return { ...result, details: { peer: peer.info.address, peerPid: peer.info.pid } };
        } finally {
          socket.destroy();
        }
      }),
  };
}
