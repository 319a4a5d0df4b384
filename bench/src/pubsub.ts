/**
 * The pub-sub section: 64-byte messages per second, one way, publisher -> server -> subscribers,
 * for fan-out 1->1 and 1->4, per tier, against raw node:net (one write() per message).
 *
 * Processes: the publisher is this (the bench) process; the server runs in a child process of
 * its own (fastpath-echo.ts, or raw-relay.ts for the baseline); each subscriber is a child process
 * of its own. Every link (publisher -> server, server -> subscriber) runs on the row's tier. Per
 * row, the server and subscriber 0 serve both fan-outs; subscribers 1..3 are started for 1->4 only,
 * so that no idle process competes for the CPU during 1->1.
 */
import type { PubSubSettings } from './options.js';
import { startPeer, type Peer } from './peer-process.js';
import { reportRate } from './pubsub-protocol.js';
import { fastpathPublisher, publishRun, rawPublisher, type Publisher, type RunOutcome } from './pubsub-run.js';
import { FASTPATH_ECHO_PEER } from './rows/fastpath.js';
import type { Progress } from './run-rows.js';
import { FASTPATH_TARGETS, serverArgs, targetLabel, targetSkipReason, type FastpathTarget } from './targets.js';

const SUBSCRIBER = new URL('./peers/subscriber.ts', import.meta.url);
const RAW_RELAY = new URL('./peers/raw-relay.ts', import.meta.url);

export interface SubscriberStats {
  index: number;
  received: number;
  measured: number;
  msgsPerSec: number;
  /** Messages that never arrived (gaps in the sequence numbers). */
  dropped: number;
  /** Messages that arrived out of order. */
  disorder: number;
}

export interface PubSubStats {
  /** Messages published (warm-up included). */
  published: number;
  /** Messages per second at the slowest subscriber. */
  msgsPerSec: number;
  /** Messages per second delivered in all: the sum over subscribers. */
  totalMsgsPerSec: number;
  /** True when every subscriber got every message. */
  complete: boolean;
  timeBound: boolean;
  subscribers: SubscriberStats[];
}

export interface PubSubGoal {
  minMsgsPerSec: number;
  source: string;
  met: boolean;
}

export interface PubSubRowResult {
  /** The row (tier) name, e.g. `fastpath-shm-inline`. */
  name: string;
  fanout: number;
  description: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  details?: Record<string, string | number>;
  stats?: PubSubStats;
  /** msgsPerSec / the baseline's msgsPerSec at the same fan-out. */
  vsBaseline?: { ratio: number };
  goal?: PubSubGoal;
}

/** Issue 4: at least 1M msgs/s 1->1 over TCP and at least 3M msgs/s 1->1 over shm (each mode). */
export function pubsubGoal(name: string, fanout: number): Omit<PubSubGoal, 'met'> | undefined {
  if (fanout !== 1) return undefined;
  if (name === 'fastpath-tcp') return { minMsgsPerSec: 1_000_000, source: 'issue 4' };
  if (name.startsWith('fastpath-shm-')) return { minMsgsPerSec: 3_000_000, source: 'issue 4' };
  return undefined;
}

interface PubSubRow {
  name: string;
  description: string;
  skipReason(): string | undefined;
  /** Starts the server (or the raw relay). */
  startServer(): Promise<Peer>;
  /** The arguments of subscriber process `index`. */
  subscriberArgs(server: Peer, index: number, s: PubSubSettings): string[];
  /** The `path` every subscriber must report. */
  path: string;
  publisher(server: Peer, runId: number, fanout: number): Promise<Publisher>;
}

const common = (s: PubSubSettings): string[] => [String(Math.max(1, Math.floor(s.window / 4))), s.fanouts.join(',')];

function rawRow(): PubSubRow {
  return {
    name: 'raw-tcp',
    description: 'raw node:net over 127.0.0.1: a relay process cuts 64-byte messages and writes each to each subscriber, one write() per message',
    skipReason: () => undefined,
    startServer: () => startPeer(RAW_RELAY, ['127.0.0.1', '64']),
    subscriberArgs: (server, i, s) => ['raw', server.info.address, String(i), ...common(s)],
    path: 'raw',
    publisher: (server, runId, fanout) => rawPublisher(server, runId, fanout),
  };
}

function fastpathRow(t: FastpathTarget): PubSubRow {
  return {
    name: t.row,
    description: `fastpath client.publish -> Server (own process) -> client.subscribe callbacks, ${targetLabel(t)} on every link`,
    skipReason: () => targetSkipReason(t),
    startServer: () => startPeer(FASTPATH_ECHO_PEER, serverArgs(t)),
    subscriberArgs: (server, i, s) => ['fastpath', server.info.address, String(i), ...common(s), t.row],
    path: t.tier,
    publisher: (server, runId, fanout) => fastpathPublisher(server.info.address, t, runId, fanout),
  };
}

/** Every row of the section, in table order; the first is the baseline. */
export const PUBSUB_ROWS: readonly PubSubRow[] = [rawRow(), ...FASTPATH_TARGETS.map(fastpathRow)];

let nextRunId = 1;

function statsOf(outcome: RunOutcome): PubSubStats {
  const subscribers = outcome.reports.map((r, index): SubscriberStats => ({
    index,
    received: r?.received ?? 0,
    measured: r?.measured ?? 0,
    msgsPerSec: r ? reportRate(r) : Number.NaN,
    dropped: r?.gaps ?? 0,
    disorder: r?.disorder ?? 0,
  }));
  const rates = subscribers.map((s) => s.msgsPerSec);
  return {
    published: outcome.published,
    msgsPerSec: rates.some((x) => !Number.isFinite(x)) ? Number.NaN : Math.min(...rates),
    totalMsgsPerSec: rates.reduce((a, b) => a + b, 0),
    complete: outcome.complete,
    timeBound: outcome.timeBound,
    subscribers,
  };
}

async function runRow(row: PubSubRow, s: PubSubSettings, progress: Progress): Promise<PubSubRowResult[]> {
  const fanouts = [...s.fanouts].sort((a, b) => a - b);
  const base = (fanout: number) => ({ name: row.name, fanout, description: row.description });
  const skip = row.skipReason();
  if (skip !== undefined) {
    progress(`pubsub ${row.name}: skipped (${skip})`);
    return fanouts.map((f) => ({ ...base(f), status: 'skipped', reason: skip }));
  }
  const results: PubSubRowResult[] = [];
  const subscribers: Peer[] = [];
  let server: Peer | undefined;
  try {
    server = await row.startServer();
    for (const fanout of fanouts) {
      progress(`pubsub ${row.name} 1->${fanout}: ${s.warmup} warm-up + at most ${s.messages} messages or ${s.maxMs} ms...`);
      try {
        const more = Array.from({ length: Math.max(0, fanout - subscribers.length) }, (_, k) => startPeer(SUBSCRIBER, row.subscriberArgs(server!, subscribers.length + k, s)));
        // Keep every peer that started, even if another failed, so that all are stopped.
        const started = await Promise.allSettled(more);
        for (const p of started) if (p.status === 'fulfilled') subscribers.push(p.value);
        const failed = started.find((p): p is PromiseRejectedResult => p.status === 'rejected');
        if (failed) throw failed.reason;
        const targets = subscribers.slice(0, fanout);
        for (const sub of targets) {
          if (sub.info.path !== row.path) throw new Error(`subscriber ${String(sub.info.index)} runs on ${String(sub.info.path)}, not ${row.path}: this row would measure the wrong thing`);
        }
        const runId = nextRunId++;
        const pub = await row.publisher(server, runId, fanout);
        let outcome: RunOutcome;
        try {
          outcome = await publishRun(pub, targets, { runId, warmup: s.warmup, messages: s.messages, maxMs: s.maxMs, window: s.window });
        } finally {
          await pub.close();
        }
        const stats = statsOf(outcome);
        if (!stats.subscribers.every((x) => x.measured >= 2)) throw new Error(`too few measured messages arrived (${stats.subscribers.map((x) => x.measured).join(', ')}; ${outcome.published} published in all)`);
        const details = { server: server.info.address, serverPid: server.info.pid, path: row.path, subscriberPids: targets.map((p) => p.info.pid).join(',') };
        progress(`pubsub ${row.name} 1->${fanout}: ${Math.round(stats.msgsPerSec).toLocaleString('en-US')} msgs/s at the slowest subscriber`);
        const goal = pubsubGoal(row.name, fanout);
        results.push({ ...base(fanout), status: 'ok', details, stats, ...(goal ? { goal: { ...goal, met: stats.msgsPerSec >= goal.minMsgsPerSec } } : {}) });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        progress(`pubsub ${row.name} 1->${fanout}: FAILED: ${reason}`);
        results.push({ ...base(fanout), status: 'failed', reason });
      }
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    progress(`pubsub ${row.name}: FAILED: ${reason}`);
    for (const f of fanouts.slice(results.length)) results.push({ ...base(f), status: 'failed', reason });
  } finally {
    await Promise.all(subscribers.map((p) => p.stop()));
    await server?.stop();
  }
  return results;
}

/** Runs the rows named in `rows`, one after another, and compares each with the baseline at the same fan-out. */
export async function runPubSubSection(rows: readonly string[], s: PubSubSettings, baseline: string, progress: Progress = () => {}): Promise<PubSubRowResult[]> {
  const results: PubSubRowResult[] = [];
  for (const row of PUBSUB_ROWS.filter((r) => rows.includes(r.name))) results.push(...(await runRow(row, s, progress)));
  for (const r of results) {
    const b = results.find((x) => x.name === baseline && x.fanout === r.fanout && x.stats)?.stats;
    if (b && r.stats) r.vsBaseline = { ratio: r.stats.msgsPerSec / b.msgsPerSec };
  }
  return results;
}
