// Version skew: client and server generated from two versions of a contract (skew/v1.ts, v2.ts).
// count is unchanged and get changed compatibly (optional fields added): both keep working, in
// both directions. rename changed incompatibly: it fails with FAILED_PRECONDITION naming the
// method and both fingerprints, before anything is sent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, FastpathError, Server, type ClientOptions, type ServerOptions } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import { InventoryClient as ClientV1, InventoryMethods as M1, registerInventory as registerV1 } from './__fixtures__/skew/gen-v1/inventory.js';
import { InventoryClient as ClientV2, InventoryMethods as M2, registerInventory as registerV2 } from './__fixtures__/skew/gen-v2/inventory.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const TRANSPORTS: Array<{ name: string; listen: () => string }> = [
  { name: 'tcp', listen: () => 'tcp://127.0.0.1:0' },
  {
    name: 'unix',
    listen: () => {
      const d = mkdtempSync(join(tmpdir(), 'fastpath-skew-'));
      dirs.push(d);
      return `unix:${join(d, 's.sock')}`;
    },
  },
];
const off: ServerOptions & ClientOptions = { fastPath: 'off' };

async function rejection(p: Promise<unknown>): Promise<FastpathError> {
  try {
    await p;
  } catch (err) {
    if (FastpathError.is(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe.each(TRANSPORTS)('contract versions over $name', ({ listen }) => {
  it('v1 client, v2 server: unchanged and compatibly changed methods work, the changed one fails naming both fingerprints', async () => {
    const renamed: unknown[] = [];
    const server = new Server({ listen: listen(), ...off });
    registerV2(server, {
      count: () => ({ n: 7 }),
      get: ({ sku, withColor }) => ({ sku, name: 'Widget', ...(withColor !== false ? { color: 'red' } : {}) }),
      rename: (req) => {
        renamed.push(req);
        return { ok: true };
      },
    });
    await server.start();
    const client = await connect(server.address, off);
    try {
      const inv = new ClientV1(client);
      expect(await inv.count({ sku: 'a' })).toEqual({ n: 7 });
      // v2 answers with an optional field v1 does not know: the v1 validator strips it.
      const item = await inv.get({ sku: 'a' });
      expect(item).toEqual({ sku: 'a', name: 'Widget' });
      expect(Object.keys(item)).toEqual(['sku', 'name']);
      const err = await rejection(inv.rename({ sku: 'a', name: 'Gadget' }));
      expect(err.code).toBe('FAILED_PRECONDITION');
      expect(err.message).toContain('Inventory.rename');
      expect(err.message).toContain(`client fingerprint ${M1.rename.fingerprint}`);
      expect(err.message).toContain(`server fingerprint ${M2.rename.fingerprint}`);
      expect(err.details).toMatchObject({ method: 'Inventory.rename', clientFingerprint: M1.rename.fingerprint, serverFingerprint: M2.rename.fingerprint });
      expect(renamed).toEqual([]); // refused before sending: the v2 handler never saw v1's string name
      expect(await inv.count({ sku: 'b' })).toEqual({ n: 7 });
    } finally {
      await client.close();
      await server.close({ graceMs: 100 });
    }
  });

  it('v2 client, v1 server: a new optional request field is stripped by the old server, rename fails', async () => {
    const seen: unknown[] = [];
    const server = new Server({ listen: listen(), ...off });
    registerV1(server, {
      count: () => ({ n: 1 }),
      get: (req) => {
        seen.push(req);
        return { sku: req.sku, name: 'Old' };
      },
      rename: () => ({ ok: true }),
    });
    await server.start();
    const client = await connect(server.address, off);
    try {
      const inv = new ClientV2(client);
      expect(await inv.count({ sku: 'a' })).toEqual({ n: 1 });
      expect(await inv.get({ sku: 'a', withColor: true })).toEqual({ sku: 'a', name: 'Old' });
      expect(seen).toEqual([{ sku: 'a' }]);
      const err = await rejection(inv.rename({ sku: 'a', name: { first: 'A', last: 'B' } }));
      expect(err.code).toBe('FAILED_PRECONDITION');
      expect(err.details).toMatchObject({ clientFingerprint: M2.rename.fingerprint, serverFingerprint: M1.rename.fingerprint });
    } finally {
      await client.close();
      await server.close({ graceMs: 100 });
    }
  });
});
