// A server in its own process, as in production: calls, hostile payloads, and a kill -9 mid-call.
import { connect, type Client } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { Calc } from './fixtures/calc.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { spawnTs, type Spawned } from './helpers/spawn.js';
import { rejectsWith } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('server in a child process over $name', (tc) => {
  const children: Spawned[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  async function startChild(): Promise<{ child: Spawned; client: Client }> {
    const child = spawnTs('test/fixtures/server.ts', [tc.listen(), JSON.stringify(tc.server ?? {})]);
    children.push(child);
    const { address } = (await child.ready) as { address: string };
    const client = await connect(address, tc.client);
    return { child, client };
  }

  it('serves calls across processes and is not polluted by __proto__ payloads', async () => {
    const { child, client } = await startChild();
    const calc = client.service<Calc>('Calc');
    expect(await calc.add({ a: 5, b: 6 })).toEqual({ sum: 11 });
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => calc.add({ a: i, b: 1 })));
    expect(results.every((r, i) => r.sum === i + 1)).toBe(true);
    const probe = await calc.probe(JSON.parse('{"__proto__": {"polluted": true}}'));
    expect(probe).toMatchObject({ polluted: false, protoIsObject: true });
    await client.close();
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  });

  it('fails in-flight calls with UNAVAILABLE when the server is killed with SIGKILL, then tries to reconnect', async () => {
    const { child, client } = await startChild();
    const calc = client.service<Calc>('Calc');
    const disconnected = new Promise((r) => client.once('disconnect', r));
    const reconnecting = new Promise((r) => client.once('reconnecting', r));
    const pending = rejectsWith(calc.slow({ ms: 30_000 }));
    expect(await calc.add({ a: 1, b: 1 })).toEqual({ sum: 2 }); // the slow call has surely arrived
    child.kill('SIGKILL');
    const err = await pending;
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.details?.reason).toBe('connection-lost');
    await disconnected;
    await reconnecting;
    expect(client.state).toBe('reconnecting');
    // While nobody listens, a new call waits for the next connection until its deadline.
    expect((await rejectsWith(calc.add({ a: 1, b: 1 }, { deadline: 100 }))).code).toBe('DEADLINE_EXCEEDED');
    await client.close();
    expect((await rejectsWith(calc.add({ a: 1, b: 1 }))).code).toBe('UNAVAILABLE');
  });
});
