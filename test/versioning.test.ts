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
