import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnTs, TS_NODE_ARGS, type Spawned } from '../../test/helpers/spawn.js';

const run = promisify(execFile);

describe('examples/metrics', () => {
  const servers: Spawned[] = [];
  afterAll(() => servers.forEach((s) => s.kill('SIGKILL')));

  it('a client makes calls; the Prometheus scrape of the server shows them', async () => {
    const server = spawnTs('examples/metrics/server.ts', ['tcp://127.0.0.1:0', '0']);
    servers.push(server);
    const { address, metrics } = (await server.ready) as { address: string; metrics: string };
    const { stdout } = await run(process.execPath, [...TS_NODE_ARGS, 'examples/metrics/client.ts', address, '100'], { cwd: repoRoot, timeout: 30_000 });
    expect(stdout).toMatch(/^path (shm|uds); 90 ok, 10 failed \{"INVALID_ARGUMENT":10\}; p50 \d+ µs, p99 \d+ µs$/m);
    const text = await (await fetch(metrics)).text();
    expect(text).toContain('fastpath_calls_total{outcome="ok"} 90');
    expect(text).toContain('fastpath_calls_total{outcome="failed"} 10');
    expect(text).toContain('fastpath_call_duration_seconds_count{side="server",method="Calc.divide",code="INVALID_ARGUMENT"} 10');
    expect(text).toContain('fastpath_call_duration_seconds_count{side="server",method="Calc.divide",code="OK"} 90');
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
