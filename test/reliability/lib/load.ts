// The load-without-loss harness, shared by load.test.ts (short) and soak.ts (1 000 000 calls):
// one server process, several client processes, N echo calls spread over 64 connections, every
// answer checked against its request (the id, and a hash of the payload as the server saw it),
// the totals compared with what the server counted per client process, and the server's RSS
// sampled every 50 ms throughout.
import type { ClientOptions } from '@fastpath/core';
import type { TransportCase } from '../../helpers/matrix.js';
import type { LeakArgs, LoadResult } from '../fixtures/host.js';
import { Host } from './host.js';

export interface LoadPlan {
  calls: number;
  connections: number;
  inflight: number;
  payloadBytes: number;
  timeoutMs: number;
}

export interface LoadFigures {
  tier: string;
  calls: number;
  ok: number;
  mismatched: number;
  failed: number;
  /** Calls the server answered, per client process, equal to each process's `ok`. */
  serverCounts: Record<string, number>;
  clientCounts: Record<string, number>;
  paths: string[];
  seconds: number;
  callsPerSecond: number;
  rssStartMiB: number;
  rssMaxMiB: number;
  rssEndMiB: number;
  timedOut: boolean;
  errorSamples: string[];
}

const MiB = 1024 * 1024;

/** Runs one tier's load: `server` gets a new server for it, `clients` share the calls. */
export async function loadTier(server: Host, clients: Host[], tc: TransportCase, plan: LoadPlan): Promise<LoadFigures> {
  const key = `load-${tc.name}`;
  const { address } = await server.ask<{ address: string }>('serverStart', { key, listen: tc.listen(), options: tc.server ?? {} });
  try {
    const { rss: rssStart } = await server.ask<{ rss: number }>('rssWatch', { start: true });
    const t0 = performance.now();
    const results = await Promise.all(
      clients.map((h, i) => {
        const calls = Math.floor(plan.calls / clients.length) + (i < plan.calls % clients.length ? 1 : 0);
        const connections = Math.floor(plan.connections / clients.length) + (i < plan.connections % clients.length ? 1 : 0);
        const options: ClientOptions = { ...tc.client, reconnect: false };
        return h.ask<LoadResult>(
          'load',
          { url: address, options, proc: `p${i}`, connections, calls, inflight: plan.inflight, payloadBytes: plan.payloadBytes, timeoutMs: plan.timeoutMs },
          plan.timeoutMs + 60_000,
        );
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const { rssMax, rss: rssEnd } = await server.ask<{ rssMax: number; rss: number }>('rssWatch', { start: false });
    const stats = await server.ask<{ stats: { calls: Record<string, number> } }>('serverStats', { key });
    const ok = results.reduce((n, r) => n + r.succeeded, 0);
    return {
      tier: tc.name,
      calls: plan.calls,
      ok,
      mismatched: results.reduce((n, r) => n + r.mismatched, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      serverCounts: stats.stats.calls,
      clientCounts: Object.fromEntries(results.map((r, i) => [`p${i}`, r.succeeded])),
      paths: [...new Set(results.flatMap((r) => r.paths))],
      seconds,
      callsPerSecond: ok / seconds,
      rssStartMiB: rssStart / MiB,
      rssMaxMiB: rssMax / MiB,
      rssEndMiB: rssEnd / MiB,
      timedOut: results.some((r) => r.timedOut),
      errorSamples: results.flatMap((r) => r.errorSamples).slice(0, 5),
    };
  } finally {
    await server.ask('serverClose', { key }).catch(() => {});
  }
}

export interface LeakFigures {
  path: string;
  cycles: number;
  serverCycles: number;
  fdBefore: number;
  fdAfter: number;
  fdNew: string[];
  mapsBefore: number;
  mapsAfter: number;
  refs: number;
  alive: number;
  /** How long after the cycles garbage collection took to free them all (or gave up). */
  gcMs: number;
  /** When some are alive: the chain of references that holds one of them. */
  retainers: string[];
}

/** Connect/call/close cycles on one tier, in `host` (started with --expose-gc). */
export function leakTier(host: Host, tc: TransportCase, cycles: number, serverCycles: number, timeoutMs: number, extra: Partial<LeakArgs> = {}): Promise<LeakFigures> {
  // handshakeTimeoutMs: 1000 because a server session stays reachable from its handshake timer
  // until that timer fires, even after the connection closed (10 s by default; reported, see
  // docs/reliability.md): the check waits gcWaitMs for bounded retention like that, not longer.
  const args: LeakArgs = {
    listen: tc.listen(),
    server: { ...tc.server, handshakeTimeoutMs: 1000 },
    client: { ...tc.client, reconnect: false } as ClientOptions,
    cycles,
    serverCycles,
    timeoutMs,
    gcWaitMs: 4000,
    ...extra,
  };
  return host.ask<LeakFigures>('leak', args as unknown as Record<string, unknown>, timeoutMs + 60_000);
}
