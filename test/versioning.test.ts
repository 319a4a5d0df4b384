// Contract fingerprints: the server announces them in WELCOME; a client whose contract for a method
// differs fails that method with FAILED_PRECONDITION, and every unchanged method keeps working.
import { connect, defineService, Server } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { rejectsWith } from './helpers/util.js';

afterAll(cleanupSocketDirs);

interface Inventory {
  count(req: { sku: string }): { n: number };
  rename(req: { sku: string; name: string }): { ok: boolean };
  plain(req: null): string;
}

describe.each(transports)('contract versions over $name', (tc) => {
  it('keeps unchanged methods working and refuses a changed one naming both fingerprints', async () => {
    const serverDef = defineService<Inventory>('Inventory', { count: { fingerprint: 'c-1' }, rename: { fingerprint: 'r-2' } });
    const server = new Server({ listen: tc.listen(), ...tc.server });
    server.addService(serverDef, { count: () => ({ n: 7 }), rename: () => ({ ok: true }), plain: () => 'plain' });
    await server.start();
    const client = await connect(server.address, tc.client);
    try {
      const clientDef = defineService<Inventory>('Inventory', { count: { fingerprint: 'c-1' }, rename: { fingerprint: 'r-1' } });
      const inv = client.service(clientDef);
      expect(await inv.count({ sku: 'x' })).toEqual({ n: 7 });
      expect(await inv.plain(null)).toBe('plain');
      const err = await rejectsWith(inv.rename({ sku: 'x', name: 'y' }));
      expect(err.code).toBe('FAILED_PRECONDITION');
      expect(err.message).toMatch(/Inventory\.rename.*client fingerprint r-1, server fingerprint r-2/);
      expect(err.details).toMatchObject({ method: 'Inventory.rename', clientFingerprint: 'r-1', serverFingerprint: 'r-2' });
      // A client without fingerprints is not checked.
      expect(await client.service<Inventory>('Inventory').rename({ sku: 'x', name: 'y' })).toEqual({ ok: true });
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe.each(transports)('contract versions across a reconnect over $name', (tc) => {
  it('checks each call against the server connected now, not the one the proxy was made for', async () => {
    const v1 = defineService<Inventory>('Inventory', { count: { fingerprint: 'c-1' }, rename: { fingerprint: 'r-1' } });
    const v2 = defineService<Inventory>('Inventory', { count: { fingerprint: 'c-1' }, rename: { fingerprint: 'r-2' } });
    const impl = { count: () => ({ n: 7 }), rename: () => ({ ok: true }), plain: () => 'plain' };
    const first = new Server({ listen: tc.listen(), ...tc.server });
    first.addService(v1, impl);
    await first.start();
    const address = first.address;
    const client = await connect(address, { ...tc.client, reconnectBackoff: { initialDelayMs: 20, maxDelayMs: 100 } });
    let second: Server | undefined;
    try {
      const inv = client.service(v1);
      expect(await inv.rename({ sku: 'x', name: 'y' })).toEqual({ ok: true });
      const reconnected = new Promise((resolve) => client.once('reconnect', resolve));
      await first.close();
      second = new Server({ listen: address, ...tc.server });
      second.addService(v2, impl);
      await second.start();
      await reconnected;
      // Same proxy, new server: rename's contract changed, count's did not.
      const err = await rejectsWith(inv.rename({ sku: 'x', name: 'y' }));
      expect(err.code).toBe('FAILED_PRECONDITION');
      expect(err.details).toMatchObject({ clientFingerprint: 'r-1', serverFingerprint: 'r-2' });
      expect(await inv.count({ sku: 'x' })).toEqual({ n: 7 });
      expect(client.path).toBe(tc.path);
    } finally {
      await client.close();
      await second?.close();
    }
  });
});
