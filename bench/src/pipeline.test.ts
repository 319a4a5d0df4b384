import { describe, expect, it } from 'vitest';
import { pipeline, type CallDone, type PipelineChannel } from './pipeline.js';

/** An in-process server that answers each call on a later turn of the event loop, and records concurrency. */
function fakeChannel(fail?: (seq: number) => boolean): PipelineChannel & { seqs: number[]; maxOutstanding: number } {
  let outstanding = 0;
  const ch = {
    seqs: [] as number[],
    maxOutstanding: 0,
    call(seq: number, done: CallDone) {
      ch.seqs.push(seq);
      outstanding++;
      ch.maxOutstanding = Math.max(ch.maxOutstanding, outstanding);
      setImmediate(() => {
        outstanding--;
        done(fail?.(seq) ? new Error(`call ${seq} failed`) : null);
      });
    },
  };
  return ch;
}

describe('pipeline', () => {
  it('keeps inFlight calls outstanding and makes warm-up + calls in all', async () => {
    const ch = fakeChannel();
    const r = await pipeline(ch, { inFlight: 8, warmup: 20, calls: 100, maxMs: 10_000 });
    expect(r.calls).toBe(100);
    expect(r.timeBound).toBe(false);
    expect(r.elapsedNs).toBeGreaterThan(0);
    expect(ch.seqs).toEqual(Array.from({ length: 120 }, (_, i) => i));
    expect(ch.maxOutstanding).toBe(8);
  });

  it('never starts more calls than it needs', async () => {
    const ch = fakeChannel();
    const r = await pipeline(ch, { inFlight: 64, warmup: 0, calls: 5, maxMs: 10_000 });
    expect(r.calls).toBe(5);
    expect(ch.seqs).toHaveLength(5);
  });

  it('stops at the time bound and still waits for the calls in flight', async () => {
    const ch = fakeChannel();
    const r = await pipeline(ch, { inFlight: 4, warmup: 0, calls: 1e9, maxMs: 30 });
    expect(r.timeBound).toBe(true);
    expect(r.calls).toBe(ch.seqs.length);
    expect(r.elapsedNs).toBeGreaterThanOrEqual(30e6);
  });

  it('ends a warm-up that outlasts the time bound and measures from there', async () => {
    const ch = fakeChannel();
    const r = await pipeline(ch, { inFlight: 4, warmup: 1e9, calls: 200, maxMs: 20 });
    expect(r.calls).toBe(200);
    expect(r.timeBound).toBe(false);
    expect(ch.seqs.length).toBeGreaterThan(200);
  });

  it('fails when a call fails, and rejects bad options', async () => {
    await expect(pipeline(fakeChannel((s) => s === 7), { inFlight: 4, warmup: 2, calls: 20, maxMs: 10_000 })).rejects.toThrow('call 7 failed');
    expect(() => pipeline(fakeChannel(), { inFlight: 0, warmup: 0, calls: 1, maxMs: 1 })).toThrow(RangeError);
    expect(() => pipeline(fakeChannel(), { inFlight: 1, warmup: -1, calls: 1, maxMs: 1 })).toThrow(RangeError);
    expect(() => pipeline(fakeChannel(), { inFlight: 1, warmup: 0, calls: 0, maxMs: 1 })).toThrow(RangeError);
    expect(() => pipeline(fakeChannel(), { inFlight: 1, warmup: 0, calls: 1, maxMs: 0 })).toThrow(RangeError);
  });
});
