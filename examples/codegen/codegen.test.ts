import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { nativeStatus } from '@fastpath/native';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, socketPath } from '../../test/helpers/matrix.js';
import { repoRoot, spawnTs, TS_NODE_ARGS, type Spawned } from '../../test/helpers/spawn.js';

const run = promisify(execFile);

afterAll(cleanupSocketDirs);

// What client.ts prints after its first line, on every tier.
const EXPECTED = [
  'placeOrder -> accepted, total 2500 EUR (order A-1)',
  'invalid order -> INVALID_ARGUMENT: invalid request for Shop.placeOrder: lines[1].price.cents: expected number, got string',
  'track A-1: accepted 2024-01-01, packed 2024-01-02, shipped 2024-01-03',
  'restock -> 2 skus, 7 units',
  'priceChanges: sku-1 999 EUR, sku-2 999 EUR',
  'invalid price change dropped -> INVALID_ARGUMENT: invalid message on Shop.priceChanges: sku: expected string, got number',
  'haggle: 800, 850 (final)',
  'stats -> 1 order(s), revenue {"EUR":2500}',
  '',
];

interface Tier {
  name: string;
  listen: () => string;
  server: object;
  client: object;
  path: string;
}

const TIERS: Tier[] = [
  { name: 'tcp', listen: () => 'tcp://127.0.0.1:0', server: {}, client: { fastPath: 'off' }, path: 'tcp' },
  { name: 'unix', listen: () => `unix:${socketPath('shop.sock')}`, server: {}, client: { fastPath: 'off' }, path: 'uds' },
  { name: 'uds (upgraded from tcp)', listen: () => 'tcp://127.0.0.1:0', server: {}, client: { fastPath: 'require', tiers: ['uds'] }, path: 'uds' },
  ...(nativeStatus.loaded
    ? [{ name: 'shm (upgraded from tcp)', listen: () => 'tcp://127.0.0.1:0', server: { shm: { mode: 'adaptive' } }, client: { fastPath: 'require', tiers: ['shm'], shm: { mode: 'adaptive' } }, path: 'shm' }]
    : []),
];

describe('examples/codegen: generated stubs between two processes', () => {
  const servers: Spawned[] = [];
  afterAll(() => servers.forEach((s) => s.kill('SIGKILL')));

  it.each(TIERS)('server and client over $name', async (tier) => {
    const server = spawnTs('examples/codegen/server.ts', [tier.listen(), JSON.stringify(tier.server)]);
    servers.push(server);
    const { address } = (await server.ready) as { address: string };
    const { stdout } = await run(process.execPath, [...TS_NODE_ARGS, 'examples/codegen/client.ts', address, JSON.stringify(tier.client)], { cwd: repoRoot, timeout: 30_000 });
    const [first, ...rest] = stdout.split('\n');
    expect(first).toBe(`connected over ${tier.path}`);
    expect(rest).toEqual(EXPECTED);
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
