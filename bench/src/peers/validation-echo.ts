// The echo peer of the validation section. It serves the same echo twice, on paths of the same
// length (so frames are the same size):
//   BenchValidation.small/large  registered by the generated registerBenchValidation (request validated)
//   BenchNoValidate.small/large  registered with server.handle and no validators
// Usage: validation-echo.ts <listen-url> [fast-path mode: auto | off | require] [tier: uds | shm] [shm mode]
import { Server, type ServerOptions } from '@fastpath/core';
import { registerBenchValidation } from '../generated/bench-validation.js';
import { targetFromArgs } from '../targets.js';
import { UNVALIDATED_SERVICE } from '../validation-messages.js';
import { runPeer } from './peer-main.js';

const listen = process.argv[2] ?? 'tcp://127.0.0.1:0';
const mode = process.argv[3] ?? 'auto';
const tier = process.argv[4];
const shmMode = process.argv[5];

await runPeer(async () => {
  if (!['auto', 'off', 'require'].includes(mode)) throw new Error(`fast-path mode must be auto, off or require, got "${mode}"`);
  const options: ServerOptions = { listen, fastPath: mode as 'auto' | 'off' | 'require', ...targetFromArgs(tier, shmMode) };
  const server = new Server(options);
  registerBenchValidation(server, { small: (req) => req, large: (req) => req });
  server.handle(`${UNVALIDATED_SERVICE}.small`, (req) => req);
  server.handle(`${UNVALIDATED_SERVICE}.large`, (req) => req);
  await server.start();
  return {
    info: { address: server.address, fastPath: mode, ...(tier ? { tier } : {}), ...(shmMode ? { shmMode } : {}) },
    close: () => server.close({ graceMs: 200 }),
  };
});
