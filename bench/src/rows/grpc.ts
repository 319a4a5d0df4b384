import { Client, credentials, type ServiceError } from '@grpc/grpc-js';
import { GRPC_ECHO_PATH, GRPC_MAX_MESSAGE_BYTES } from '../grpc-service.js';
import { withPeer } from '../peer-process.js';
import type { EchoChannel, EchoDone } from '../ping-pong.js';
import type { Row } from './row.js';

export const GRPC_ECHO_PEER = new URL('../peers/grpc-echo.ts', import.meta.url);

const identity = (b: Buffer): Buffer => b;

/** Each round trip is one unary call, `client.makeUnaryRequest(path, payload, callback)`. */
function unaryChannel(client: Client): EchoChannel {
  return {
    send(payload: Buffer, done: EchoDone) {
      client.makeUnaryRequest<Buffer, Buffer>(GRPC_ECHO_PATH, identity, identity, payload, (err: ServiceError | null, res?: Buffer) => {
        if (err) done(new Error(`gRPC echo failed: ${err.message}`));
        else done(null, res);
      });
    },
  };
}

/** @grpc/grpc-js unary echo over TCP (127.0.0.1) or a Unix socket (`unix:` target), insecure. */
export function grpcRow(kind: 'tcp' | 'unix'): Row {
  return {
    name: kind === 'tcp' ? 'grpc-tcp' : 'grpc-uds',
    description: `@grpc/grpc-js unary echo (Buffer serializers, no proto) over ${kind === 'tcp' ? 'TCP 127.0.0.1' : 'a Unix socket (unix: target)'}, insecure credentials`,
    async skipReason() {
      return kind === 'unix' && process.platform === 'win32' ? 'Unix domain sockets are not used on Windows' : undefined;
    },
    withSession: (fn) =>
      withPeer(GRPC_ECHO_PEER, [kind], async (peer) => {
        const client = new Client(peer.info.address, credentials.createInsecure(), {
          'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES,
          'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES,
        });
        try {
          await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
          return await fn({ details: { peer: peer.info.address, peerPid: peer.info.pid }, channel: async () => unaryChannel(client) });
        } finally {
          client.close();
        }
      }),
  };
}
