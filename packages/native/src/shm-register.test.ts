/**
 * Registration with core: register() hands core an shm tier whose offers attach and carry bytes.
 */
import { describe, expect, it } from 'vitest';
import type { Connection } from '@fastpath/core';
import { HAS_ADDON, echo, withTimeout } from './__fixtures__/shm-harness.js';
import { attachShm, register, type ShmConnection, type ShmUpgradeTier, type TcpFastPathUpgradeTier } from './index.js';

describe.skipIf(!HAS_ADDON)('registration with core (in process)', () => {
  it('register() hands core an shm tier whose offers attach and carry bytes', async () => {
    const registered: Array<ShmUpgradeTier | TcpFastPathUpgradeTier> = [];
    expect(register({ registerUpgradeTier: (t) => registered.push(t) })).toEqual({ loaded: true, tiers: ['shm'] });
    const tier = registered[0]!;
    expect(tier.tier).toBe('shm');
    expect(tier.unavailableReason()).toBeUndefined();
    const accepted: Connection[] = [];
    const server = await tier.listen((c) => accepted.push(c), { mode: 'worker', ringBytes: 8192 });
    const offer = await server.offer();
    const client = await tier.attach(JSON.parse(JSON.stringify(offer.params)), { mode: 'adaptive' });
    await withTimeout(
      (async () => {
        for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      'onConnection',
    );
    expect(accepted).toHaveLength(1);
    const srv = accepted[0]!;
    srv.onData = (b) => srv.write(b);
    const back = await echo(client as ShmConnection, Buffer.from('via the tier'));
    expect(back.toString()).toBe('via the tier');
    const unused = await server.offer();
    await server.close(); // withdraws the unused offer
    expect(() => attachShm(unused.params)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    client.destroy();
    srv.destroy();
  });
});
