// The fastpath echo peer: a Server with one method, Bench.echo, that returns its request.
// Usage: fastpath-echo.ts <listen-url> [fast-path mode: auto | off | require]
//   e.g. fastpath-echo.ts tcp://127.0.0.1:0 off    (a TCP-only server: no same-host upgrade offered)
import { Server, type ServerOptions } from '@fastpath/core';
import { runPeer } from './peer-main.js';

type FastPathMode = 'auto' | 'off' | 'require';
const MODES: readonly string[] = ['auto', 'off', 'require'];

const listen = process.argv[2] ?? 'tcp://127.0.0.1:0';
const mode = process.argv[3] ?? 'auto';

await runPeer(async () => {
  if (!MODES.includes(mode)) throw new Error(`fast-path mode must be one of ${MODES.join(', ')}, got "${mode}"`);
  // Typed as an intersection so this compiles against cores that predate the fastPath option.
  const options: ServerOptions & { fastPath: FastPathMode } = { listen, fastPath: mode as FastPathMode };
  const server = new Server(options);
  server.handle('Bench.echo', (req) => req);
  await server.start();
  return {
    info: { address: server.address, fastPath: mode },
    close: () => server.close({ graceMs: 200 }),
  };
});
