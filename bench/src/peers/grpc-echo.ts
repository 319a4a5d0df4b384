// The gRPC echo peer: an @grpc/grpc-js server with one unary method that returns its request
// (grpc-service.ts), insecure credentials, default options otherwise.
// Usage: grpc-echo.ts <tcp | unix>
//   tcp: listens on 127.0.0.1 with an OS-picked port; unix: on a Unix socket in a fresh 0700
//   directory under the tmpdir, removed when the peer exits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { GRPC_ECHO_SERVICE, GRPC_MAX_MESSAGE_BYTES } from '../grpc-service.js';
import { runPeer } from './peer-main.js';

const kind = process.argv[2] ?? 'tcp';

await runPeer(async () => {
  if (kind !== 'tcp' && kind !== 'unix') throw new Error(`listen kind must be tcp or unix, got "${kind}"`);
  const server = new Server({ 'grpc.max_receive_message_length': GRPC_MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': GRPC_MAX_MESSAGE_BYTES });
  server.addService(GRPC_ECHO_SERVICE, {
    echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, call.request),
  });
  const dir = kind === 'unix' ? mkdtempSync(join(tmpdir(), 'fastpath-bench-grpc-')) : undefined;
  const target = dir === undefined ? '127.0.0.1:0' : `unix:${join(dir, 'grpc.sock')}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(target, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  // The address line carries what a grpc-js client dials: host:port, or unix:/path.
  const address = dir === undefined ? `127.0.0.1:${port}` : target;
  return {
    info: { address, grpcTarget: address },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        resolve();
      }),
  };
});
