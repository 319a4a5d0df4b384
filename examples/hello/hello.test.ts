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
    // A same-host TCP client is upgraded to a faster tier; a unix-socket client already is on uds.
    ['tcp', 'tcp://127.0.0.1:0', /^(uds|shm)$/],
    ['unix', () => `unix:${socketPath('hello.sock')}`, /^(uds|shm)$/],
  ] as const)('server and client run as two processes over %s', async (_name, listen, path) => {
    const server = spawnTs('examples/hello/server.ts', [typeof listen === 'function' ? listen() : listen]);
    servers.push(server);
    const { address, pid } = (await server.ready) as { address: string; pid: number };
    const { stdout } = await run(process.execPath, [...TS_NODE_ARGS, 'examples/hello/client.ts', address, 'Ada'], { cwd: repoRoot, timeout: 30_000 });
    const lines = stdout.split('\n');
    const m = /^Hello, Ada! \(server pid (\d+), path (\S+)\)$/.exec(lines[0] ?? '');
    expect(Number(m?.[1])).toBe(pid);
    expect(m?.[2]).toMatch(path);
    expect(lines.slice(1)).toEqual([
      '2 + 40 = 42',
      'empty name -> INVALID_ARGUMENT: name is required',
      '',
    ]);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
