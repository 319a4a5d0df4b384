// Generated definitions wired into core: the server validates every request and streamed message
// before the handler sees it (INVALID_ARGUMENT with the path), the client validates responses
// (INTERNAL), no-request and optional-request methods, topics, and registerX's checks.
import { connect, FastpathError, Server, type Client } from '@fastpath/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LineItem } from './__fixtures__/all-types.js';
import { CatalogClient, CatalogService, catalogPublisher, registerCatalog, type CatalogHandlers } from './__fixtures__/golden/catalog.js';

async function rejection(p: Promise<unknown>): Promise<FastpathError> {
  try {
    await p;
  } catch (err) {
    if (FastpathError.is(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

const item = (sku: string, quantity = 1): LineItem => ({ sku, quantity, price: { amount: 100, currency: 'EUR' } });

describe('generated Catalog over a real connection', () => {
  const seen: unknown[] = [];
  let server: Server;
  let client: Client;
  let catalog: CatalogClient;

  const impl: CatalogHandlers = {
    echo: (req) => req,
    ping: (req) => {
      seen.push(req);
      return { ok: true };
    },
    getItem: ({ sku }) => {
      seen.push(sku);
      // A server bug the types would catch, forced through: the client's response validator refuses it.
      return sku === 'broken' ? ({ sku, quantity: 'many', price: { amount: 1, currency: 'EUR' } } as never) : item(sku);
    },
    async *list() {
      yield item('a');
      yield { ...item('b'), price: { amount: 'free' } } as never;
    },
    async upload(items) {
      let count = 0;
      for await (const i of items) {
        seen.push(i.sku);
        count++;
      }
      return { count };
    },
    async *chat(messages) {
      for await (const m of messages) yield { text: m.text.toUpperCase(), at: new Date(0) };
    },
    remove: () => undefined,
    pinned: (req) => (req === undefined ? -1 : req.hint?.length ?? 0),
  };

  beforeAll(async () => {
    server = new Server({ listen: 'tcp://127.0.0.1:0', fastPath: 'off' });
    registerCatalog(server, impl);
    await server.start();
    client = await connect(server.address, { fastPath: 'off' });
    catalog = new CatalogClient(client);
  });
  afterAll(async () => {
    await client?.close();
    await server?.close({ graceMs: 100 });
  });

  it('calls every shape through the typed client', async () => {
    expect(await catalog.ping()).toEqual({ ok: true });
    expect(seen.pop()).toBeUndefined(); // the codec's null for "no request" is undefined again
    expect(await catalog.getItem({ sku: 's1' })).toEqual(item('s1'));
    expect(await catalog.upload([item('u1'), item('u2')])).toEqual({ count: 2 });
    const replies: string[] = [];
    for await (const r of catalog.chat([{ text: 'hi' }, { text: 'there' }])) replies.push(r.text);
    expect(replies).toEqual(['HI', 'THERE']);
    expect(await catalog.remove({ sku: 'x' })).toBeUndefined();
    expect(await catalog.pinned()).toBe(-1);
    expect(await catalog.pinned({ hint: 'abc' })).toBe(3);
  });

  it('the server refuses an invalid request before the handler runs', async () => {
    seen.length = 0;
    const err = await rejection(catalog.getItem({ sku: 5 } as never));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('invalid request for Catalog.getItem: sku: expected string, got number');
    expect(err.details).toMatchObject({ issues: [{ path: 'sku', message: 'expected string, got number' }] });
    expect(seen).toEqual([]);
  });

  it('streamed request messages are validated one by one: the handler sees only the valid ones', async () => {
    seen.length = 0;
    const err = await rejection(catalog.upload([item('ok'), { ...item('bad'), quantity: '2' } as never, item('never')]));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('invalid message for Catalog.upload: quantity: expected number, got string');
    expect(seen).toEqual(['ok']);
  });

  it('the client refuses an invalid response (INTERNAL), also inside a stream', async () => {
    const err = await rejection(catalog.getItem({ sku: 'broken' }));
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toBe('invalid response from Catalog.getItem: quantity: expected number, got string');
    const got: string[] = [];
    const streamErr = await rejection(
      (async () => {
        for await (const i of catalog.list({})) got.push(i.sku);
      })(),
    );
    expect(got).toEqual(['a']);
    expect(streamErr.code).toBe('INTERNAL');
    expect(streamErr.message).toMatch(/price\.amount: expected number, got string/);
  });

  it('response validation can be turned off on the Client', async () => {
    const loose = await connect(server.address, { fastPath: 'off', validateResponses: false });
    try {
      expect(await new CatalogClient(loose).getItem({ sku: 'broken' })).toMatchObject({ quantity: 'many' });
    } finally {
      await loose.close();
    }
  });

  it('topics: the publisher and the typed subscription, which validates messages', async () => {
    const sub = catalog.updates.subscribe();
    await sub.ready;
    const errors: FastpathError[] = [];
    client.on('error', (e) => errors.push(e));
    await client.publish('Catalog.updates', { sku: 1, stock: 1 }, { ack: true });
    expect(catalogPublisher(server).updates({ sku: 'a', stock: 3 })).toBe(1);
    for await (const m of sub) {
      expect(m.data).toEqual({ sku: 'a', stock: 3 });
      break;
    }
    expect(errors.map((e) => e.message)).toEqual(['invalid message on Catalog.updates: sku: expected string, got number']);
  });

  it('the definition carries kinds, ids and fingerprints; registerCatalog checks the handlers', () => {
    expect(CatalogService.methods.pinned).toMatchObject({ kind: 'unary', id: 42 });
    expect(CatalogService.methods.chat).toMatchObject({ kind: 'bidi', fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(CatalogService.methods.getItem?.idempotent).toBe(true);
    expect(CatalogService.topics).toEqual(['updates']);
    const { ping: _omitted, ...partial } = impl;
    expect(() => registerCatalog(new Server(), partial as CatalogHandlers)).toThrow('registerCatalog: no handler for Catalog.ping');
  });
});
