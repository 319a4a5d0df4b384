import { describe, expect, it } from 'vitest';
import { readStamp } from './payload.js';
import { pingPong, type EchoChannel } from './ping-pong.js';

/** An in-process echo that answers on a later turn of the event loop, as a socket would. */
function loopback(transform: (sent: Buffer, i: number) => Uint8Array = (b) => Buffer.from(b)): EchoChannel & { sent: Buffer[] } {
  const sent: Buffer[] = [];
  return {
    sent,
    send(payload, done) {
      const copy = Buffer.from(payload);
      sent.push(copy);
      setImmediate(() => done(null, transform(copy, sent.length - 1)));
    },
  };
}

describe('pingPong', () => {
  it('makes warm-up + n round trips and records n positive RTTs', async () => {
    const ch = loopback();
    const r = await pingPong(ch, { warmup: 5, n: 20, payloadBytes: 64 });
    expect(ch.sent).toHaveLength(25);
    expect(r.samplesUs).toHaveLength(20);
    expect([...r.samplesUs].every((x) => x > 0)).toBe(true);
    expect(r.elapsedNs).toBeGreaterThan(0);
  });

  it('stamps each payload with a fresh hrtime and its sequence number', async () => {
    const ch = loopback();
    await pingPong(ch, { warmup: 0, n: 10, payloadBytes: 64 });
    const stamps = ch.sent.map((b) => readStamp(b));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! > stamps[i - 1]!).toBe(true);
    expect(ch.sent.map((b) => b.readUInt32LE(8))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ch.sent.every((b) => b.length === 64)).toBe(true);
  });

  it('fails when an echo differs from what was sent', async () => {
    const ch = loopback((b, i) => {
      if (i === 7) b[40] = b[40]! ^ 1;
      return b;
    });
    await expect(pingPong(ch, { warmup: 2, n: 10, payloadBytes: 64 })).rejects.toThrow(/round trip 7: the echo .* differs/);
  });

  it('fails when an echo is short or the channel reports an error', async () => {
    await expect(pingPong(loopback((b) => b.subarray(0, 32)), { warmup: 0, n: 3, payloadBytes: 64 })).rejects.toThrow(/32 bytes/);
    const broken: EchoChannel = { send: (_p, done) => setImmediate(() => done(new Error('peer went away'))) };
    await expect(pingPong(broken, { warmup: 0, n: 3, payloadBytes: 64 })).rejects.toThrow('peer went away');
  });

  it('maxMs ends the warm-up and the measuring early, keeping what was measured', async () => {
    // An echo that takes ~2 ms: 5 ms bounds allow a few round trips per phase, never 1 000.
    const slow: EchoChannel & { sent: number } = {
      sent: 0,
      send(payload, done) {
        slow.sent++;
        const copy = Buffer.from(payload);
        setTimeout(() => done(null, copy), 2);
      },
    };
    const r = await pingPong(slow, { warmup: 1000, n: 1000, payloadBytes: 16, maxMs: 5 });
    expect(r.samplesUs.length).toBeGreaterThan(0);
    expect(r.samplesUs.length).toBeLessThan(20);
    expect(slow.sent).toBeLessThan(40);
    expect([...r.samplesUs].every((x) => x >= 1000)).toBe(true);
    expect(() => pingPong(loopback(), { warmup: 0, n: 1, payloadBytes: 64, maxMs: 0 })).toThrow(RangeError);
  });

  it('reports progress every 1 024 round trips', async () => {
    const seen: Array<[number, number]> = [];
    await pingPong(loopback(), { warmup: 100, n: 2000, payloadBytes: 16, onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).toEqual([
      [1024, 2100],
      [2048, 2100],
    ]);
  });

  it('rejects bad counts and payloads too small for the stamp', () => {
    expect(() => pingPong(loopback(), { warmup: 0, n: 0, payloadBytes: 64 })).toThrow(RangeError);
    expect(() => pingPong(loopback(), { warmup: -1, n: 1, payloadBytes: 64 })).toThrow(RangeError);
    expect(() => pingPong(loopback(), { warmup: 0, n: 1, payloadBytes: 8 })).toThrow(RangeError);
  });
});
