// The fastpath echo peer: a Server with one method, Bench.echo, that returns its request. It is
// also the broker of the pub-sub section (a Server routes publishes with no extra set-up).
// Usage: fastpath-echo.ts <listen-url> [fast-path mode: auto | off | require] [tier: uds | shm] [shm mode]
//   e.g. fastpath-echo.ts tcp://127.0.0.1:0 off                 (TCP only: no same-host upgrade offered)
//        fastpath-echo.ts tcp://127.0.0.1:0 auto shm inline     (offers only shm, polling inline)
import { Server, type ServerOptions } from '@fastpath/core';
import { targetFromArgs } from '../targets.js';
import { runPeer } from './peer-main.js';

type FastPathMode = 'auto' | 'off' | 'require';
const MODES: readonly string[] = ['auto', 'off', 'require'];

const listen = process.argv[2] ?? 'tcp://127.0.0.1:0';
const mode = process.argv[3] ?? 'auto';
const tier = process.argv[4];
const shmMode = process.argv[5];

await runPeer(async () => {
  if (!MODES.includes(mode)) throw new Error(`fast-path mode must be one of ${MODES.join(', ')}, got "${mode}"`);
  // Typed as an intersection so this compiles against cores that predate the fastPath option.
  const options: ServerOptions & { fastPath: FastPathMode } = { listen, fastPath: mode as FastPathMode, ...targetFromArgs(tier, shmMode) };
  const server = new Server(options);
  server.handle('Bench.echo', (req) => req);
  await server.start();
  return {
    info: { address: server.address, fastPath: mode, ...(tier ? { tier } : {}), ...(shmMode ? { shmMode } : {}) },
    close: () => server.close({ graceMs: 200 }),
  };
});
