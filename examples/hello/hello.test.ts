import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, socketPath } from '../../test/helpers/matrix.js';
import { repoRoot, spawnTs, TS_NODE_ARGS, type Spawned } from '../../test/helpers/spawn.js';

const run = promisify(execFile);

afterAll(cleanupSocketDirs);

describe('examples/hello', () => {
  const servers: Spawned[] = [];
  afterAll(() => servers.forEach((s) => s.kill('SIGKILL')));

  it.each([
    ['tcp', 'tcp://127.0.0.1:0', 'tcp'],
    ['unix', () => `unix:${socketPath('hello.sock')}`, 'uds'],
  ] as const)('server and client run as two processes over %s', async (_name, listen, path) => {
    const server = spawnTs('examples/hello/server.ts', [typeof listen === 'function' ? listen() : listen]);
    servers.push(server);
    const { address, pid } = (await server.ready) as { address: string; pid: number };
    const { stdout } = await run(process.execPath, [...TS_NODE_ARGS, 'examples/hello/client.ts', address, 'Ada'], { cwd: repoRoot, timeout: 30_000 });
    expect(stdout.split('\n')).toEqual([
      `Hello, Ada! (server pid ${pid}, path ${path})`,
      '2 + 40 = 42',
      'empty name -> INVALID_ARGUMENT: name is required',
      '',
    ]);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
