// The request/response behaviour suite, run over every transport in the matrix.
import { Client, connect, defineService, FastpathError, Server, type ServiceClient } from '@fastpath/core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { calcHandlers, type Calc, type Observed } from './fixtures/calc.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { rejectsWith, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('rpc over $name', (tc) => {
  let server: Server;
  let client: Client;
  let calc: ServiceClient<Calc>;
  let observed: Observed;

  async function startServer(extra: ConstructorParameters<typeof Server>[0] = {}): Promise<Server> {
    const s = new Server({ listen: tc.listen(), ...tc.server, ...extra });
    s.addService<Calc>('Calc', calcHandlers(observed));
    await s.start();
    return s;
  }

  beforeEach(async () => {
    observed = { started: new Set(), aborted: new Map() };
    server = await startServer();
    client = await connect(server.address, tc.client);
    calc = client.service<Calc>('Calc');
  });

  afterEach(async () => {
    await client.close();
    await server.close({ graceMs: 100 });
  });

  it('answers typed calls and reports the tier', async () => {
    expect(await calc.add({ a: 2, b: 40 })).toEqual({ sum: 42 });
    expect(await client.call('Calc.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    expect(client.path).toBe(tc.path);
    expect(server.connections()).toHaveLength(1);
    expect(server.connections()[0]!.path).toBe(tc.path);
  });

  it('carries every msgpack type through echo', async () => {
    const value = { s: 'x', n: 1.25, big: 123n, d: new Date(5), bytes: Buffer.from([1, 2]), arr: [null, true], nested: { a: [{ b: 1 }] } };
    const back = (await calc.echo(value)) as typeof value;
    expect(back).toEqual(value);
    expect(await calc.echo(undefined)).toBeNull();
  });

  it('multiplexes 10,000 concurrent calls, each answered with its own result', async () => {
    const n = 10_000;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => calc.add({ a: i, b: i })));
    expect(results).toHaveLength(n);
    for (let i = 0; i < n; i++) expect(results[i]!.sum).toBe(2 * i);
    expect(client.inFlight).toBe(0);
  });

  it('passes per-call and connection metadata to handlers', async () => {
    const c2 = await connect(server.address, { ...tc.client, metadata: { tenant: 'acme' } });
    try {
      const who = await c2.service<Calc>('Calc').whoami(undefined, { metadata: { 'x-trace': 't1' }, deadline: 5000 });
      expect(who).toEqual({ metadata: { 'x-trace': 't1' }, meta: { tenant: 'acme' }, path: tc.path, hasDeadline: true });
      expect((await calc.whoami()).hasDeadline).toBe(false);
    } finally {
      await c2.close();
    }
  });

  it('answers UNIMPLEMENTED for unknown methods and keeps serving', async () => {
    const err = await rejectsWith(client.call('Calc.nope', {}));
    expect(err.code).toBe('UNIMPLEMENTED');
    expect(err.details?.method).toBe('Calc.nope');
    expect(err.remote).toBe(true);
    expect((await rejectsWith(client.call('Other.add', {}))).code).toBe('UNIMPLEMENTED');
    expect(await calc.add({ a: 1, b: 2 })).toEqual({ sum: 3 });
  });

  it('turns a thrown Error into INTERNAL with its message and no stack', async () => {
    const err = await rejectsWith(calc.fail({ message: 'kaput' }));
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toBe('kaput');
    expect(err.details?.stack).toBeUndefined();
    const nf = await rejectsWith(calc.fail({ message: 'gone', code: 'NOT_FOUND' }));
    expect(nf.code).toBe('NOT_FOUND');
    expect(nf.details).toEqual({ hint: 'from handler' });
  });

  it('sends the stack only when exposeStack is on', async () => {
    const s2 = await startServer({ exposeStack: true });
    const c2 = await connect(s2.address, tc.client);
    try {
      const err = await rejectsWith(c2.call('Calc.fail', { message: 'with stack' }));
      expect(err.code).toBe('INTERNAL');
      expect(String(err.details?.stack)).toMatch(/with stack\n\s+at /);
    } finally {
      await c2.close();
      await s2.close();
    }
  });

  it('answers INTERNAL when the result cannot be serialized', async () => {
    const err = await rejectsWith(calc.unserializable());
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toMatch(/cannot be serialized/);
    expect(await calc.add({ a: 0, b: 0 })).toEqual({ sum: 0 });
  });

  it('ends the call with DEADLINE_EXCEEDED on the client and aborts the handler signal', async () => {
    const err = await rejectsWith(calc.slow({ ms: 10_000, tag: 'd' }, { deadline: 80 }));
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    await until(() => observed.aborted.has('d'), 3000, 'server abort');
    expect(observed.aborted.get('d')).toBe('DEADLINE_EXCEEDED');
    // A Date deadline works the same way.
    const err2 = await rejectsWith(calc.slow({ ms: 10_000, tag: 'd2' }, { deadline: new Date(Date.now() + 50) }));
    expect(err2.code).toBe('DEADLINE_EXCEEDED');
    // An already-expired deadline fails without reaching the server.
    const err3 = await rejectsWith(calc.slow({ ms: 1, tag: 'never' }, { deadline: 0 }));
    expect(err3.code).toBe('DEADLINE_EXCEEDED');
    expect(observed.started.has('never')).toBe(false);
  });

  it('sends CANCEL when the signal aborts, and the handler signal aborts with CANCELLED', async () => {
    const ac = new AbortController();
    const p = calc.slow({ ms: 10_000, tag: 'c' }, { signal: ac.signal });
    await until(() => observed.started.has('c'), 3000, 'handler start');
    ac.abort(new Error('user gave up'));
    const err = await rejectsWith(p);
    expect(err.code).toBe('CANCELLED');
    expect(err.message).toMatch(/user gave up/);
    await until(() => observed.aborted.has('c'), 3000, 'server abort');
    expect(observed.aborted.get('c')).toBe('CANCELLED');
    expect((await rejectsWith(calc.add({ a: 1, b: 1 }, { signal: ac.signal }))).code).toBe('CANCELLED');
  });

  it('fails calls on a closed client with UNAVAILABLE, and pending calls with CANCELLED', async () => {
    const pending = calc.slow({ ms: 10_000, tag: 'p' });
    await until(() => observed.started.has('p'), 3000, 'handler start');
    const closing = client.close();
    expect((await rejectsWith(pending)).code).toBe('CANCELLED');
    await closing;
    expect(client.closed).toBe(true);
    expect((await rejectsWith(calc.add({ a: 1, b: 1 }))).code).toBe('UNAVAILABLE');
    await until(() => observed.aborted.has('p'), 3000, 'server abort');
  });

  it('never lets __proto__ keys pollute prototypes', async () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const res = await calc.probe(hostile);
    expect(res.polluted).toBe(false);
    expect(res.protoIsObject).toBe(true);
    expect(res.keys).not.toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('validates requests with a Standard Schema and answers INVALID_ARGUMENT with the path', async () => {
    interface Shop {
      order(req: { items: { price: number }[] }): { total: number };
    }
    const Shop = defineService<Shop>('Shop', {
      order: { request: z.object({ items: z.array(z.object({ price: z.number() })) }) },
    });
    let handlerSaw = 0;
    server.addService(Shop, {
      order: ({ items }) => {
        handlerSaw++;
        return { total: items.reduce((s, i) => s + i.price, 0) };
      },
    });
    const shop = client.service(Shop);
    expect(await shop.order({ items: [{ price: 2 }, { price: 3 }] })).toEqual({ total: 5 });
    const err = await rejectsWith(shop.order({ items: [{ price: 1 }, { price: 'x' as unknown as number }] }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/items\[1\]\.price/);
    expect(err.details?.issues).toEqual([expect.objectContaining({ path: 'items[1].price' })]);
    expect(handlerSaw).toBe(1);
  });

  it('validates responses on the client when the definition has a response schema', async () => {
    interface Liar {
      get(): { n: number };
    }
    server.handle('Liar.get', () => ({ n: 'not a number' }));
    const Liar = defineService<Liar>('Liar', { get: { response: z.object({ n: z.number() }) } });
    const err = await rejectsWith(client.service(Liar).get());
    expect(err.code).toBe('INTERNAL');
    expect(err.details?.reason).toBe('invalid-response');
    const lenient = await connect(server.address, { ...tc.client, validateResponses: false });
    try {
      expect(await lenient.service(Liar).get()).toEqual({ n: 'not a number' });
    } finally {
      await lenient.close();
    }
  });

  it('runs server and client interceptors in order', async () => {
    const log: string[] = [];
    server.use(async (call, next) => {
      log.push(`s1 ${call.method}`);
      if (call.ctx.metadata.token !== 'secret') throw new FastpathError('UNAUTHENTICATED', 'no token');
      const r = await next();
      log.push('s1 done');
      return r;
    });
    server.use((call, next) => {
      log.push('s2');
      call.request = { a: 100, b: 1 };
      return next();
    });
    expect((await rejectsWith(calc.add({ a: 1, b: 1 }))).code).toBe('UNAUTHENTICATED');
    client.use((call, next) => {
      log.push(`c1 ${call.method}`);
      return next({ ...call, options: { ...call.options, metadata: { token: 'secret' } } });
    });
    expect(await calc.add({ a: 1, b: 1 })).toEqual({ sum: 101 });
    expect(log).toEqual(['s1 Calc.add', 'c1 Calc.add', 's1 Calc.add', 's2', 's1 done']);
  });

  it('refuses a request over the server maxFrameBytes on the client side, without sending it', async () => {
    const s2 = await startServer({ maxFrameBytes: 1024 });
    const c2 = await connect(s2.address, tc.client);
    try {
      const err = await rejectsWith(c2.call('Calc.echo', Buffer.alloc(4096)));
      expect(err.code).toBe('RESOURCE_EXHAUSTED');
      expect(err.details).toMatchObject({ limit: 1024 });
      expect(await c2.call('Calc.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
    } finally {
      await c2.close();
      await s2.close();
    }
  });

  it('refuses a response over the client maxFrameBytes with RESOURCE_EXHAUSTED', async () => {
    const c2 = await connect(server.address, { ...tc.client, maxFrameBytes: 1024 });
    try {
      const err = await rejectsWith(c2.call('Calc.echo', Buffer.alloc(900).toString('hex')));
      expect(err.code).toBe('RESOURCE_EXHAUSTED');
      expect(await c2.call('Calc.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
    } finally {
      await c2.close();
    }
  });

  it('carries a frame near maxFrameBytes (large payloads)', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    const back = (await calc.echo(big)) as Buffer;
    expect(back.length).toBe(big.length);
    expect(back.equals(big)).toBe(true);
  });

  it('limits concurrent calls per connection with RESOURCE_EXHAUSTED', async () => {
    const s2 = await startServer({ maxConcurrentCalls: 2 });
    const c2 = await connect(s2.address, tc.client);
    try {
      const slow = [c2.call('Calc.slow', { ms: 300, tag: 'l1' }), c2.call('Calc.slow', { ms: 300, tag: 'l2' })];
      const err = await rejectsWith(c2.call('Calc.add', { a: 1, b: 1 }));
      expect(err.code).toBe('RESOURCE_EXHAUSTED');
      await Promise.all(slow);
      expect(await c2.call('Calc.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    } finally {
      await c2.close();
      await s2.close();
    }
  });

  it('drains gracefully: GOAWAY, in-flight calls finish, new calls fail UNAVAILABLE (reconnect off)', async () => {
    const c2 = await connect(server.address, { ...tc.client, reconnect: false });
    const calc2 = c2.service<Calc>('Calc');
    const goaways: unknown[] = [];
    c2.on('goaway', (g) => goaways.push(g));
    const closed = new Promise<FastpathError>((r) => c2.once('close', r));
    const inflight = calc2.slow({ ms: 200, tag: 'drain' });
    await until(() => observed.started.has('drain'), 3000, 'handler start');
    const closing = server.close({ graceMs: 5000 });
    await until(() => goaways.length > 0, 3000, 'goaway');
    expect((await rejectsWith(calc2.add({ a: 1, b: 1 }))).code).toBe('UNAVAILABLE');
    expect(await inflight).toEqual({ done: true });
    await closing;
    expect((await closed).code).toBe('UNAVAILABLE');
    expect(c2.closed).toBe(true);
    expect(observed.aborted.has('drain')).toBe(false);
  });

  it('fails calls still running when the grace period ends', async () => {
    const inflight = rejectsWith(calc.slow({ ms: 10_000, tag: 'late' }));
    await until(() => observed.started.has('late'), 3000, 'handler start');
    await server.close({ graceMs: 100 });
    const err = await inflight;
    expect(err.code).toBe('UNAVAILABLE');
    expect(observed.aborted.get('late')).toBe('UNAVAILABLE');
  });
});
