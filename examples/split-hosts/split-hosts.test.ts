// The split-hosts example for real: the server runs in a network namespace of its own (another
// "host", test/helpers/netns.ts), the client on this host, the same client code inside the
// namespace too. Needs root to create the namespace; skips with the reason otherwise.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadNative } from '@fastpath/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, netnsSupport, type Netns } from '../../test/helpers/netns.js';
import { repoRoot, TS_NODE_ARGS, type Spawned } from '../../test/helpers/spawn.js';
import { until } from '../../test/helpers/util.js';

const run = promisify(execFile);
const support = netnsSupport();
if (!support.ok) console.warn(`examples/split-hosts test skipped: ${support.reason}`);
const native = await loadNative();
const localTier = native.loaded && native.tiers?.includes('shm') === true ? 'shm' : 'uds';

describe.skipIf(!support.ok)('examples/split-hosts', () => {
  let ns: Netns;
  let server: Spawned;
  let port: number;

  beforeAll(async () => {
    ns = createNetns();
    server = ns.spawnTs('examples/split-hosts/server.ts', ['tcp://0.0.0.0:0']);
    const { address } = (await server.ready) as { address: string };
    port = Number(new URL(address).port);
  }, 30_000);

  afterAll(() => {
    server?.kill('SIGKILL');
    ns?.destroy();
  });

  it('a client on this host reaches the server on the other "host" over tcp, reason remote peer', async () => {
    const { stdout } = await run(process.execPath, [...TS_NODE_ARGS, 'examples/split-hosts/client.ts', ns.nsUrl(port), 'Ada'], { cwd: repoRoot, timeout: 30_000 });
    expect(stdout.split('\n')).toEqual([
      expect.stringMatching(/^Hello, Ada! \(server pid \d+\)$/),
      'path tcp (remote peer)',
      '2 + 40 = 42',
      'empty name -> INVALID_ARGUMENT: name is required',
      '',
    ]);
    const line = new RegExp(`^\\[server\\] tcp://${ns.hostAddress.replaceAll('.', '\\.')}:\\d+: path tcp \\(remote peer\\)$`);
    await until(() => server.stderr.some((l) => line.test(l)), 5000, 'the server to log the remote connection');
  });

  it(`the same client code on the server's host is upgraded (${localTier})`, async () => {
    const r = await ns.exec(process.execPath, [...TS_NODE_ARGS, 'examples/split-hosts/client.ts', `tcp://127.0.0.1:${port}`, 'Bob'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    // Without the native addon the line also says why shm was skipped: `path uds (shm: native addon unavailable: …)`.
    expect(r.stdout.split('\n').slice(0, 3)).toEqual([
      expect.stringMatching(/^Hello, Bob! \(server pid \d+\)$/),
      localTier === 'shm' ? 'path shm' : expect.stringMatching(/^path uds \(shm: .+\)$/),
      '2 + 40 = 42',
    ]);
  });

  it('stops cleanly on SIGTERM', async () => {
    server.kill('SIGTERM');
    expect(await Promise.race([server.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))])).toBe(0);
  });
});
