// Issue 9, fuzzing a live server. A server runs in its own process (a crash would end it); raw
// peers send it generated frame streams, mutated (flipped bytes, cut short, wrong types, huge
// lengths, bad MessagePack), on every tier of the transport matrix: on the upgraded tiers the
// raw peer negotiates the upgrade itself and sends the hostile bytes on the uds or shm channel.
// Meanwhile a well-behaved client calls the same server without pause. The server must stay up,
// answer the good client correctly the whole time, end each bad connection cleanly (GOAWAY then
// close, or keep it open when what arrived was valid), report only protocol errors, and free
// everything the hostile connections held.
//
// Counts: 100 cases per tier in CI (60 on the upgraded tiers, which cost a handshake and an
// upgrade each); FASTPATH_FUZZ=long (npm run fuzz) 5 000 (2 000); FASTPATH_FUZZ_RUNS=<n> exactly
// n. FASTPATH_FUZZ_SEED=<n> replays a run (the seed is printed when a case fails).
import fc from 'fast-check';
import net from 'node:net';
import { buildFrame, connect, FastpathError, FrameType, type Client } from '@fastpath/core';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, transports, type TransportCase } from '../helpers/matrix.js';
import { digest, payloadFor, type EchoResponse, type RelStats } from './fixtures/rel-service.js';
import { fuzzRuns, timeLimit } from './lib/config.js';
import { FrameChannel, openRawChannel, upgradedTier } from './lib/frame-channel.js';
import { fuzzCase, render, serverFuzzCase, type FuzzCase, type ServerFuzzCase } from './lib/fuzz-frames.js';
import { Host, killAllHosts } from './lib/host.js';

afterAll(async () => {
  await killAllHosts();
  cleanupSocketDirs();
});

const SEED = Number(process.env.FASTPATH_FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);
const CONCURRENCY = 8;
const verbose = process.env.FASTPATH_TEST_VERBOSE === '1';

interface ErrorInfo {
  code: string;
  reason: string | null;
  message: string;
  protocol: boolean;
}

interface Stats {
  connections: unknown[];
  subscriptions: number;
  stats: RelStats;
  errors: ErrorInfo[];
  disconnects: ErrorInfo[];
}

/** Errors a hostile peer may legitimately cause; anything else is a bug in a frame handler. */
function expected(e: ErrorInfo): boolean {
  if (e.protocol) return true;
  if (e.code === 'UNAVAILABLE' || e.code === 'CANCELLED') return true; // the peer closed, keepalive, draining
  if (e.code === 'PERMISSION_DENIED' && e.reason === 'attach-refused') return true;
  if (e.code === 'RESOURCE_EXHAUSTED' || e.code === 'FAILED_PRECONDITION') return true; // frame limits, version, fast path
  return false;
}

type Outcome = 'goaway' | 'alive' | 'silent';

async function runCase(tc: TransportCase, address: string, c: FuzzCase, k: number): Promise<Outcome> {
  const { ch, others } = await openRawChannel(tc, address, c.hello);
  try {
    for (const chunk of render(c)) {
      ch.write(chunk);
      await new Promise((r) => setImmediate(r)); // separate writes arrive as separate chunks
    }
    // A PING after the case: a PONG proves the server parsed everything and the connection is sane.
    const pingId = 0x7e000000 + k;
    ch.write(buildFrame(FrameType.PING, 0, pingId));
    const answered = await ch.seen((f) => f.type === FrameType.PONG && f.id === pingId, 1000);
    if (ch.garbage) throw new Error('the server sent bytes that are not frames');
    if (ch.closed) {
      // The server ended it: cleanly, with a GOAWAY saying why, before the close.
      const g = ch.frames.find((f) => f.type === FrameType.GOAWAY);
      if (!g) throw new Error(`the server closed without GOAWAY (frames: ${ch.frames.map((f) => f.type).join(',')})`);
      return 'goaway';
    }
    return answered ? 'alive' : 'silent';
  } finally {
    ch.destroy();
    for (const o of others) o.destroy();
  }
}

/** A well-behaved client calling without pause; every answer is checked against its request. */
function goodClientLoop(client: Client): { stop(): Promise<{ ok: number; bad: string[] }> } {
  let stopped = false;
  let ok = 0;
  const bad: string[] = [];
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const data = payloadFor(i, 48);
      try {
        const r = await client.call<EchoResponse>('Rel.echo', { id: i, data }, { deadline: 10_000 });
        if (r.id === i && r.hash === digest(data)) ok++;
        else bad.push(`call ${i}: wrong answer ${JSON.stringify(r)}`);
      } catch (err) {
        bad.push(`call ${i}: ${String(err)}`);
        if (bad.length > 20) return;
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { ok, bad };
    },
  };
}

describe.each(transports)('live server fuzz over $name', (tc) => {
  const runs = upgradedTier(tc) ? fuzzRuns(60, 2000) : fuzzRuns(100, 5000);

  it(
    `${runs} hostile connections: the server stays up, serves a good client throughout, and ends each bad connection cleanly`,
    async () => {
      const host = await Host.start();
      const { address } = await host.ask<{ address: string }>('serverStart', {
        key: 's',
        listen: tc.listen(),
        options: { ...tc.server, maxFrameBytes: 65_536, handshakeTimeoutMs: 1000, upgradeTimeoutMs: 3000 },
      });
      const good = await connect(address, { ...tc.client, reconnect: false });
      try {
        expect(good.path).toBe(tc.path);
        const loop = goodClientLoop(good);
        const cases = fc.sample(fuzzCase, { numRuns: runs, seed: SEED });
        const outcomes: Record<Outcome, number> = { goaway: 0, alive: 0, silent: 0 };
        const failures: string[] = [];
        let next = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < cases.length && failures.length < 5) {
              const k = next++;
              try {
                outcomes[await runCase(tc, address, cases[k]!, k)]++;
              } catch (err) {
                failures.push(`case ${k} (FASTPATH_FUZZ_SEED=${SEED}): ${(err as Error).message}\n${JSON.stringify(cases[k], (_key, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v))}`);
              }
            }
          }),
        );
        const goodResult = await loop.stop();
        expect(failures).toEqual([]);
        expect(host.alive, host.stderr.join('')).toBe(true);
        expect(goodResult.bad).toEqual([]);
        expect(goodResult.ok).toBeGreaterThan(0);

        // Everything the hostile connections held is freed: only the good client is left.
        let s = await host.ask<Stats>('serverStats', { key: 's' });
        const freed = (x: Stats): boolean =>
          x.connections.length === 1 && x.subscriptions === 0 && x.stats.hanging === 0 && x.stats.activeStreams === 0 && x.stats.activeClientStreams === 0;
        for (let i = 0; i < 200 && !freed(s); i++) {
          await new Promise((r) => setTimeout(r, 50));
          s = await host.ask<Stats>('serverStats', { key: 's' });
        }
        expect({ connections: s.connections.length, subscriptions: s.subscriptions, hanging: s.stats.hanging, streams: s.stats.activeStreams, clientStreams: s.stats.activeClientStreams }).toEqual({
          connections: 1,
          subscriptions: 0,
          hanging: 0,
          streams: 0,
          clientStreams: 0,
        });
        // Only protocol violations and their like were reported: no frame handler failed unexpectedly.
        expect([...s.errors, ...s.disconnects].filter((e) => !expected(e))).toEqual([]);
        expect(outcomes.goaway).toBeGreaterThan(0);
        if (verbose) {
          const reasons: Record<string, number> = {};
          for (const e of s.disconnects) reasons[`${e.code}/${e.reason}`] = (reasons[`${e.code}/${e.reason}`] ?? 0) + 1;
          console.log(`${tc.name}: ${runs} cases (seed ${SEED}): ${JSON.stringify(outcomes)}; good client ${goodResult.ok} calls; disconnect reasons ${JSON.stringify(reasons)}`);
        }
        expect(await good.call('Rel.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
      } finally {
        await good.close();
        host.kill();
      }
    },
    timeLimit(60_000),
  );
});

// The other direction: a hostile server. A raw server answers each client's HELLO with a
// generated (sometimes mutated) WELCOME, waits for the client's call, then sends generated frames
// (answers to that call and to calls never made, events for subscriptions that do not exist,
// control frames, the client's own frame types), mutated the same way. The client (a real one,
// in this process) must only ever report FastpathErrors: connect() resolves or rejects with one,
// the call resolves or rejects with one, 'error' events carry one, and nothing is thrown
// elsewhere (vitest fails the run on an uncaught exception or an unhandled rejection).
// Counts: 80 cases in CI, 3 000 with FASTPATH_FUZZ=long.
class HangError extends Error {}

describe('live client fuzz (a hostile server)', () => {
  const runs = fuzzRuns(80, 3000);
  it(`${runs} hostile servers: the client reports only FastpathErrors`, async () => {
    const cases = fc.sample(serverFuzzCase, { numRuns: runs, seed: SEED });
    let current: ServerFuzzCase | undefined;
    const raws = new Set<FrameChannel>();
    const server = net.createServer((socket) => {
      const c = current!;
      const raw = FrameChannel.fromSocket(socket);
      raws.add(raw);
      void (async () => {
        try {
          await raw.next(FrameType.HELLO, 2000);
          for (const chunk of render({ hello: false, frames: [c.welcome], mutations: c.welcomeMutations, cuts: [] })) raw.write(chunk);
          await raw.seen((f) => f.type === FrameType.REQUEST, 100);
          for (const chunk of render({ hello: false, frames: c.frames, mutations: c.mutations, cuts: c.cuts })) {
            raw.write(chunk);
            await new Promise((r) => setImmediate(r));
          }
        } catch {
          // the client went away first
        }
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const foreign: string[] = [];
    const check = (where: string, err: unknown): void => {
      if (!FastpathError.is(err)) foreign.push(`${where}: ${(err as Error)?.name}: ${(err as Error)?.message}`);
    };
    const outcomes = { connected: 0, refused: 0, answered: 0, failed: 0 };
    // Every step must settle: the connect and the call have their own timeouts, and close() must
    // end too. A step that hangs fails the run with its case and seed, instead of the test's time limit.
    const settles = async <T>(where: string, step: Promise<T>): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const hang = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HangError(`${where} (FASTPATH_FUZZ_SEED=${SEED}) did not settle within 5 s`)), 5000);
      });
      try {
        return await Promise.race([step, hang]);
      } finally {
        clearTimeout(timer);
      }
    };
    const hangs: string[] = [];
    try {
      for (let k = 0; k < cases.length && foreign.length === 0; k++) {
        current = cases[k];
        let client: Client | undefined;
        try {
          client = await settles(`case ${k} connect`, connect(url, { reconnect: false, connectTimeoutMs: 1000, handshakeTimeoutMs: 500, upgradeTimeoutMs: 300, keepaliveMs: 0 } as never));
          outcomes.connected++;
        } catch (err) {
          if (err instanceof HangError) {
            hangs.push(err.message);
            break;
          }
          check(`case ${k} connect (FASTPATH_FUZZ_SEED=${SEED})`, err);
          outcomes.refused++;
          continue;
        }
        client.on('error', (err) => check(`case ${k} 'error' event`, err));
        try {
          await settles(`case ${k} call`, client.call('Rel.add', { a: 1, b: 2 }, { deadline: 150 }));
          outcomes.answered++;
        } catch (err) {
          if (err instanceof HangError) {
            hangs.push(`${err.message}: ${JSON.stringify(current)}`);
            break;
          }
          check(`case ${k} call (FASTPATH_FUZZ_SEED=${SEED})`, err);
          outcomes.failed++;
        }
        try {
          await settles(`case ${k} close`, client.close());
        } catch (err) {
          hangs.push((err as Error).message);
          break;
        }
        for (const r of raws) r.destroy();
        raws.clear();
      }
    } finally {
      for (const r of raws) r.destroy();
      await new Promise((r) => server.close(r));
    }
    if (verbose) console.log(`client fuzz: ${runs} cases (seed ${SEED}): ${JSON.stringify(outcomes)}`);
    expect(hangs).toEqual([]);
    expect(foreign).toEqual([]);
    expect(outcomes.connected).toBeGreaterThan(0);
  }, timeLimit(60_000));
});
