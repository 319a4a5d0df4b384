// Fingerprints: equal across compatible changes (optional fields, names, order), different across
// incompatible ones. Method ids: a hash of the wire name, or @id.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogMethods } from './__fixtures__/golden/catalog.js';
import { InventoryMethods as V1 } from './__fixtures__/skew/gen-v1/inventory.js';
import { InventoryMethods as V2 } from './__fixtures__/skew/gen-v2/inventory.js';
import { generateSources, methodId, type ServiceSummary } from './index.js';
import { fixtures } from './test-helpers/tmp.js';

const file = join(fixtures, 'fingerprints.ts');
const of = (services: ServiceSummary[], name: string): string => services.find((s) => s.name === name)!.methods[0]!.fingerprint;

describe('fingerprints', () => {
  let strip: ServiceSummary[] = [];
  beforeAll(() => {
    strip = generateSources({ files: [file], outDir: '/nonexistent' }).services;
  });

  it.each(['AddOptional', 'RemoveOptional', 'Renamed'])('%s: a compatible change keeps the fingerprint', (name) => {
    expect(of(strip, name)).toBe(of(strip, 'Base'));
  });

  it.each(['AddRequired', 'MadeOptional', 'ChangedType', 'WiderUnion', 'DeeperChange', 'ChangedResponse', 'Streamed'])('%s: an incompatible change changes it', (name) => {
    expect(of(strip, name)).not.toBe(of(strip, 'Base'));
  });

  it('hashes a documented canonical form: kind, then required fields only, sorted, structural, recursion as #n', () => {
    const base = strip.find((s) => s.name === 'Base')!.methods[0]!;
    expect(base.canonical).toBe(
      'fp1;unary;{"flag":union<number:0|number:1>,"id":string,"qty":number,"tree":{"kids":array<#0>,"label":string}};{"items":array<{"qty":number,"sku":string}>,"ok":boolean}',
    );
    expect(base.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it("with unknownKeys 'reject', optional fields count too (a peer that sends one would be refused)", () => {
    const reject = generateSources({ files: [file], outDir: '/nonexistent', unknownKeys: 'reject' }).services;
    expect(of(reject, 'AddOptional')).not.toBe(of(reject, 'Base'));
    expect(of(reject, 'Renamed')).not.toBe(of(reject, 'Base')); // Base has the optional note, Renamed does not
    expect(of(reject, 'AddRequired')).not.toBe(of(reject, 'Base'));
  });

  it('the skew fixtures: count and get (optional fields added) unchanged, rename changed', () => {
    expect(V2.count.fingerprint).toBe(V1.count.fingerprint);
    expect(V2.get.fingerprint).toBe(V1.get.fingerprint);
    expect(V2.rename.fingerprint).not.toBe(V1.rename.fingerprint);
  });
});

describe('method ids', () => {
  it('are FNV-1a of the wire name: stable when other methods change, pinned by @id', () => {
    expect(methodId('Catalog', 'echo')).toBe(CatalogMethods.echo.id);
    expect(CatalogMethods.pinned.id).toBe(42);
    expect(V2.count.id).toBe(V1.count.id);
    expect(methodId('Inventory', 'count')).toBe(V1.count.id);
    const ids = Object.values(CatalogMethods).map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(Number.isInteger(id) && id >= 1 && id <= 0x7fffffff).toBe(true);
  });
});
