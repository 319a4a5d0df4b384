import { describe, expect, it } from 'vitest';
import type { Peer, PeerLine } from './peer-process.js';
import type { SubscriberReport } from './pubsub-protocol.js';
import { publishRun, type Publisher } from './pubsub-run.js';

/**
 * In-process stand-ins: each fake subscriber takes what was published on a later turn of the
 * event loop and reports its count, as the subscriber processes do on stdout.
 */
function fakes(count: number, runId: number, options: { deaf?: number; dropEvery?: number } = {}) {
  const listeners: Array<((l: PeerLine) => void) | null> = Array.from({ length: count }, () => null);
  const received = Array.from({ length: count }, () => 0);
  let sent = 0;
  let maxAhead = 0;
  const peers: Peer[] = listeners.map((_, i) => ({
    info: { address: 'fake', pid: i },
    stop: async () => 'stdin-closed' as const,
    onLine: (l) => {
      listeners[i] = l;
    },
  }));
  const deliver = (): void => {
    for (let i = 0; i < count; i++) {
      if (i === options.deaf) continue;
      received[i] = sent - (options.dropEvery ? Math.floor(sent / options.dropEvery) : 0);
      const report: SubscriberReport = { run: runId, received: received[i]!, measured: received[i]!, spanUs: received[i]! * 0.1, gaps: 0, disorder: 0 };
      listeners[i]?.(report as unknown as PeerLine);
      // A report of another run is ignored.
      listeners[i]?.({ ...report, run: runId + 1, received: 0 } as unknown as PeerLine);
    }
  };
  let scheduled = false;
  const publisher: Publisher = {
    publish() {
      sent++;
      maxAhead = Math.max(maxAhead, sent - Math.min(...received));
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          deliver();
        });
      }
    },
    close: async () => {},
  };
  return { peers, publisher, stats: () => ({ sent, maxAhead }) };
}

describe('publishRun', () => {
  it('publishes warm-up + messages within the window and ends when every subscriber has all of them', async () => {
    const f = fakes(4, 7);
    const out = await publishRun(f.publisher, f.peers, { runId: 7, warmup: 100, messages: 5000, maxMs: 10_000, window: 512 });
    expect(out).toMatchObject({ published: 5100, timeBound: false, complete: true });
    expect(out.reports.map((r) => r?.received)).toEqual([5100, 5100, 5100, 5100]);
    expect(f.stats().maxAhead).toBeLessThanOrEqual(512);
  });

  it('stops at the time bound when a subscriber never reports, and says the run is incomplete', async () => {
    const f = fakes(2, 3, { deaf: 1 });
    const out = await publishRun(f.publisher, f.peers, { runId: 3, warmup: 0, messages: 1e9, maxMs: 40, window: 64, drainMs: 20 });
    expect(out.timeBound).toBe(true);
    expect(out.complete).toBe(false);
    expect(out.reports[1]).toBeUndefined();
    expect(f.stats().sent).toBeLessThanOrEqual(64);
  });

  it('reports messages that never arrived as incomplete after the drain timeout', async () => {
    const f = fakes(1, 5, { dropEvery: 100 });
    const out = await publishRun(f.publisher, f.peers, { runId: 5, warmup: 0, messages: 1000, maxMs: 10_000, window: 4096, drainMs: 30 });
    expect(out.published).toBe(1000);
    expect(out.complete).toBe(false);
    expect(out.reports[0]!.received).toBe(990);
  });
});
