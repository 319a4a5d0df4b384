// Issue 9, load without loss (the short version; `npm run soak` runs 1 000 000 calls per tier).
// On each tier: 30 000 echo calls over 64 concurrent connections from two client processes, two
// in flight per connection. Every response must match its request (id and payload hash), the
// totals must be exact (each client process's successes equal what the server counted for it),
// nothing may fail, the run ends by itself within its time bound, and the server's RSS stays
// bounded (a sanity bound here; the soak records the figures).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, transports } from '../helpers/matrix.js';
import { SOAK, timeLimit } from './lib/config.js';
import { Host, killAllHosts } from './lib/host.js';
import { loadTier, type LoadPlan } from './lib/load.js';

const PLAN: LoadPlan = SOAK
  ? { calls: 1_000_000, connections: 64, inflight: 4, payloadBytes: 64, timeoutMs: 30 * 60_000 }
  : { calls: 30_000, connections: 64, inflight: 2, payloadBytes: 64, timeoutMs: 30_000 };
const PROCESSES = SOAK ? 4 : 2;

let server: Host;
let clients: Host[];
beforeAll(async () => {
  [server, ...clients] = await Promise.all(Array.from({ length: PROCESSES + 1 }, () => Host.start()));
}, 60_000);
afterAll(async () => {
  await killAllHosts();
  cleanupSocketDirs();
});

describe.each(transports)('load without loss over $name', (tc) => {
  it(
    `${PLAN.calls} calls over ${PLAN.connections} connections from ${PROCESSES} processes: every answer matches, totals are exact`,
    async () => {
      const f = await loadTier(server, clients, tc, PLAN);
      if (process.env.FASTPATH_TEST_VERBOSE === '1') console.log(JSON.stringify(f));
      expect(f.errorSamples).toEqual([]);
      expect(f.timedOut).toBe(false);
      expect({ ok: f.ok, mismatched: f.mismatched, failed: f.failed }).toEqual({ ok: PLAN.calls, mismatched: 0, failed: 0 });
      expect(f.serverCounts).toEqual(f.clientCounts);
      expect(f.paths).toEqual([tc.path]);
      expect(server.alive).toBe(true);
      // 64 connections with 1 MiB shm rings each way map 128 MiB, which counts in RSS once
      // touched; beyond that the server must not grow with the number of calls.
      expect(f.rssMaxMiB - f.rssStartMiB).toBeLessThan(tc.path === 'shm' ? 384 : 256);
    },
    timeLimit(60_000),
  );
});
