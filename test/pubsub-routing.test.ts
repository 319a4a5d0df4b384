// Pub-sub routing, over every transport in the matrix: wildcards end to end, fan-out to
// subscriber processes, ordering, queue groups, echo, message types, typed topics, validators,
// and subscribers whose limits or callbacks fail without losing their connection.
// The other pub-sub suites are test/pubsub-*.test.ts.
//
// Tests with a "Regression" comment found a bug in core while this suite was written.
import { defineService, FastpathError, Server, subjectMatches, type Topic } from '@fastpath/core';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { pubsubHarness } from './helpers/pubsub-harness.js';
import { settle } from './helpers/pubsub-settle.js';
import { spawnTs } from './helpers/spawn.js';
import { report } from './helpers/subscriber-process.js';
import { sleep, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('pub-sub over $name', (tc) => {
  let server: Server;
  const { client, children } = pubsubHarness(tc, (s) => (server = s));

  describe('routing', () => {
    it('matches `*` and `>` end to end', async () => {
      const pub = await client();
      const subc = await client();
      expect(subc.path).toBe(tc.path);
      const patterns = ['orders.*', 'orders.>', 'orders.eu.created', '*.eu.*', '>', 'orders.*.created', '*'];
      const subjects = ['orders', 'orders.eu', 'orders.eu.created', 'orders.us.created', 'stock.eu.low', 'orders.eu.created.late', 'a.b.c.d'];
      const got = new Map<string, string[]>(patterns.map((p) => [p, []]));
      const subs = patterns.map((p) => subc.subscribe(p, { callback: (_d, m) => got.get(p)!.push(m.subject) }));
      await Promise.all(subs.map((s) => s.ready));
      for (const s of subjects) pub.publish(s, { s });
      await settle(subc, pub);
      const table: Record<string, string[]> = {
        'orders.*': ['orders.eu'],
        'orders.>': ['orders.eu', 'orders.eu.created', 'orders.us.created', 'orders.eu.created.late'],
        'orders.eu.created': ['orders.eu.created'],
        '*.eu.*': ['orders.eu.created', 'stock.eu.low'],
        '>': subjects,
        'orders.*.created': ['orders.eu.created', 'orders.us.created'],
        '*': ['orders'],
      };
      for (const p of patterns) {
        expect(got.get(p)!.filter((s) => !s.startsWith('settle.')), p).toEqual(table[p]);
        // The table agrees with the matcher the core exports.
        expect(subjects.filter((s) => subjectMatches(p, s)), p).toEqual(table[p]);
      }
    });

    it('fans out to several subscriber processes, each getting every matching message in order', async () => {
      const specs = [['fan.>'], ['fan.*'], ['fan.x', 'fan.y.z']];
      for (const subjects of specs) {
        children.push(spawnTs('test/fixtures/subscriber.ts', [JSON.stringify({ urls: [server.address], client: tc.client, subs: subjects.map((subject) => ({ subject })), only: 'i' })]));
      }
      const ready = (await Promise.all(children.map((c) => c.ready))) as Array<{ paths: string[]; pid: number }>;
      expect(ready.map((r) => r.paths[0])).toEqual([tc.path, tc.path, tc.path]);
      expect(new Set(ready.map((r) => r.pid)).size).toBe(3);
      expect(server.subscriptionCount).toBe(4);
      const pub = await client();
      const cycle = ['fan.x', 'fan.y.z', 'fan.w'];
      const n = 300;
      for (let i = 0; i < n; i++) pub.publish(cycle[i % 3]!, { i });
      await pub.publish('fan.end', { i: -1 }, { ack: true });
      const idx = (pred: (i: number) => boolean): number[] => Array.from({ length: n }, (_, i) => i).filter(pred);
      const want = [
        [[...idx(() => true), -1]],
        [[...idx((i) => i % 3 !== 1), -1]],
        [idx((i) => i % 3 === 0), idx((i) => i % 3 === 1)],
      ];
      for (const [k, child] of children.entries()) {
        let r = await report(child);
        for (let tries = 0; tries < 100 && !r.every((rec, j) => rec.received.length >= want[k]![j]!.length); tries++) {
          await sleep(20);
          r = await report(child);
        }
        expect(r.map((rec) => rec.received)).toEqual(want[k]);
        expect(r.every((rec) => rec.dropped === 0 && rec.error === null)).toBe(true);
      }
      // The processes go away: the server forgets their subscriptions.
      for (const c of children) c.child.stdin!.end();
      await Promise.all(children.map((c) => c.exited));
      await until(() => server.subscriptionCount === 0, 5000, 'subscriptions of exited processes removed');
    });

    it('keeps each publisher’s order at each subscriber (10 000 messages)', async () => {
      const subc = await client();
      const a = await client();
      const b = await client();
      const sub = subc.subscribe<{ p: string; seq: number }>('seq.*', { maxMessages: 50_000 });
      const plain = subc.subscribe<{ p: string; seq: number }>('seq.a', { maxMessages: 50_000 });
      await Promise.all([sub.ready, plain.ready]);
      const n = 10_000;
      // Three publishers interleaved: two clients and the server itself.
      for (let i = 0; i < n; i++) {
        a.publish('seq.a', { p: 'a', seq: i });
        if (i % 2 === 0) b.publish('seq.b', { p: 'b', seq: i / 2 });
        if (i % 5 === 0) server.publish('seq.s', { p: 's', seq: i / 5 });
      }
      const next = { a: 0, b: 0, s: 0 } as Record<string, number>;
      const total = n + n / 2 + n / 5;
      let count = 0;
      for await (const { data } of sub) {
        expect(data.seq).toBe(next[data.p]);
        next[data.p]!++;
        if (++count === total) break;
      }
      expect(next).toEqual({ a: n, b: n / 2, s: n / 5 });
      let expected = 0;
      for await (const { data } of plain) {
        expect(data).toEqual({ p: 'a', seq: expected });
        if (++expected === n) break;
      }
      expect(sub.dropped + plain.dropped).toBe(0);
    });

    it('gives each message to exactly one member of a queue group, and every member some', async () => {
      const members = await Promise.all([client(), client(), client()]);
      const watcher = await client();
      const got = new Map<string, number[]>();
      const record = (key: string) => (d: number) => got.set(key, [...(got.get(key) ?? []), d]);
      const subs = [
        ...members.map((m, k) => m.subscribe<number>('jobs.*', { queue: 'workers', callback: record(`w${k}`) })),
        // A second group, both members on one connection, sees every message once too.
        watcher.subscribe<number>('jobs.>', { queue: 'audit', callback: record('a0') }),
        watcher.subscribe<number>('jobs.>', { queue: 'audit', callback: record('a1') }),
        // A plain subscriber beside the groups gets everything.
        watcher.subscribe<number>('jobs.*', { callback: record('all') }),
      ];
      await Promise.all(subs.map((s) => s.ready));
      const pub = await client();
      const n = 300;
      for (let i = 0; i < n; i++) pub.publish(`jobs.${i % 4}`, i);
      for (const m of [...members, watcher]) await settle(m, pub);
      const all = Array.from({ length: n }, (_, i) => i);
      const workers = ['w0', 'w1', 'w2'].map((k) => got.get(k) ?? []);
      expect(workers.every((w) => w.length > 0)).toBe(true);
      expect(workers.flat().sort((x, y) => x - y)).toEqual(all);
      for (const w of workers) expect(w).toEqual([...w].sort((x, y) => x - y)); // each member in order
      const audit = [got.get('a0') ?? [], got.get('a1') ?? []];
      expect(audit.every((w) => w.length > 0)).toBe(true);
      expect(audit.flat().sort((x, y) => x - y)).toEqual(all);
      expect(got.get('all')).toEqual(all);

      // A member leaves: the others share the rest, still exactly once.
      subs[0]!.unsubscribe();
      await until(() => server.subscriptionCount === subs.length - 1, 5000, 'member removed');
      got.clear();
      for (let i = 0; i < 100; i++) pub.publish('jobs.x', i);
      for (const m of [...members, watcher]) await settle(m, pub);
      expect(got.get('w0')).toBeUndefined();
      expect([...(got.get('w1') ?? []), ...(got.get('w2') ?? [])].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(got.get('w1')!.length).toBeGreaterThan(0);
      expect(got.get('w2')!.length).toBeGreaterThan(0);
    });

    it('echoes a connection’s own publishes by default, and not with echo: false', async () => {
      const echoing = await client();
      const quiet = await client({ echo: false });
      const other = await client();
      const heard = { echoing: [] as string[], quiet: [] as string[] };
      await echoing.subscribe<string>('talk', { callback: (d) => heard.echoing.push(d) }).ready;
      await quiet.subscribe<string>('talk', { callback: (d) => heard.quiet.push(d) }).ready;
      await echoing.publish('talk', 'from echoing', { ack: true });
      await quiet.publish('talk', 'from quiet', { ack: true });
      await other.publish('talk', 'from other', { ack: true });
      await settle(echoing);
      await settle(quiet);
      expect(heard.echoing).toEqual(['from echoing', 'from quiet', 'from other']);
      expect(heard.quiet).toEqual(['from echoing', 'from other']);
      // server.publish has no connection: it reaches everyone.
      server.publish('talk', 'from server');
      await settle(quiet);
      await settle(echoing);
      expect(heard.quiet.at(-1)).toBe('from server');
      expect(heard.echoing.at(-1)).toBe('from server');
    });

    it('carries every msgpack type and tells the subject to wildcard subscribers', async () => {
      const c = await client();
      const sub = c.subscribe<unknown>('types.>');
      await sub.ready;
      const value = { s: 'x', n: 1.5, big: 123n, d: new Date(5), bytes: Buffer.from([1, 2]), arr: [null, true], nested: { a: [{ b: 1 }] } };
      await c.publish('types.deep.one', value, { ack: true });
      for await (const m of sub) {
        expect(m).toEqual({ subject: 'types.deep.one', data: value });
        break;
      }
    });

    it('server.publish returns how many subscriptions it reached (one per queue group)', async () => {
      const c = await client();
      const subs = [c.subscribe('count.*'), c.subscribe('count.>'), c.subscribe('count.x', { queue: 'g' }), c.subscribe('count.*', { queue: 'g' }), c.subscribe('other')];
      await Promise.all(subs.map((x) => x.ready));
      expect(server.publish('count.x', 1)).toBe(3);
      expect(server.publish('count.y', 1)).toBe(3);
      expect(server.publish('count.y.z', 1)).toBe(1);
      expect(server.publish('nobody.home', 1)).toBe(0);
    });

    it('typed topics: Topic<T> in a contract gives subscribe/publish on `Service.topic`', async () => {
      interface Market {
        quote(req: { symbol: string }): { price: number };
        prices: Topic<{ symbol: string; price: number }>;
      }
      const Market = defineService<Market>('Market', {}, ['prices']);
      const c = await client();
      const market = c.service(Market);
      expectTypeOf(market.prices.publish).parameter(0).toEqualTypeOf<{ symbol: string; price: number }>();
      const sub = market.prices.subscribe();
      await sub.ready;
      const raw = c.subscribe<unknown>('Market.*');
      await raw.ready;
      await market.prices.publish({ symbol: 'ACME', price: 10 }, { ack: true });
      for await (const m of sub) {
        expectTypeOf(m.data).toEqualTypeOf<{ symbol: string; price: number }>();
        expect(m).toEqual({ subject: 'Market.prices', data: { symbol: 'ACME', price: 10 } });
        break;
      }
      for await (const m of raw) {
        expect(m.subject).toBe('Market.prices');
        break;
      }
    });

    it('drops messages that fail a subscription validator and reports them as client errors', async () => {
      const c = await client();
      const errors: FastpathError[] = [];
      c.on('error', (e) => errors.push(e));
      const sub = c.subscribe('valid.t', { validate: z.object({ t: z.number() }) });
      await sub.ready;
      server.publish('valid.t', { t: 'hot' });
      server.publish('valid.t', { t: 21 });
      for await (const m of sub) {
        expect(m.data).toEqual({ t: 21 });
        break;
      }
      expect(errors).toHaveLength(1);
      expect(errors[0]!.code).toBe('INVALID_ARGUMENT');
      expect(errors[0]!.message).toMatch(/invalid message on valid\.t: t: /);
    });

    // Regression: the broker did not check an EVENT against each subscriber's maxFrameBytes (a
    // publish is only checked against the server's). A subscriber with a smaller limit got a frame
    // its parser rejects and its whole connection was closed: one publisher could disconnect every
    // such subscriber. Now that message is not delivered to it, and the connection stays.
    it('a message over a subscriber’s maxFrameBytes does not break that subscriber’s connection', async () => {
      const small = await client({ maxFrameBytes: 4096 });
      small.on('error', () => {});
      const pub = await client();
      const got: number[] = [];
      await small.subscribe<{ i: number }>('big.>', { callback: (d) => got.push(d.i) }).ready;
      await pub.publish('big.one', { i: 1, pad: 'x'.repeat(10_000) }, { ack: true });
      await pub.publish('big.two', { i: 2 }, { ack: true });
      await until(() => got.length > 0 || small.closed, 5000, 'delivery or close');
      expect(small.closed).toBe(false);
      expect(got).toEqual([2]);
    });

    // Regression: a subscription callback that threw tore down the whole connection: the exception
    // escaped Subscription.onEvent into the frame parser, FrameSession took it for a protocol error,
    // sent GOAWAY INTERNAL "protocol error: ..." to the server and failed every pending call. Now the
    // error stays with that subscription (client 'error' event) and the connection keeps working.
    it('a throwing subscription callback does not break the connection', async () => {
      const c = await client();
      const errors: FastpathError[] = [];
      c.on('error', (e) => errors.push(e));
      const got: number[] = [];
      await c.subscribe<number>('cb.fail', {
        callback: (n) => {
          if (n === 2) throw new Error('bug in the callback');
          got.push(n);
        },
      }).ready;
      for (let i = 1; i <= 3; i++) server.publish('cb.fail', i);
      await until(() => got.length === 2 || c.closed, 5000, 'messages or close');
      expect(c.closed).toBe(false);
      expect(got).toEqual([1, 3]);
      expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/bug in the callback/)]);
      await settle(c);
    });
  });
});
