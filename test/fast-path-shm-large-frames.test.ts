// Large frames across chunking on the shm tier, under a full fastpath Client/Server: payloads up
// to maxFrameBytes round-trip intact through a ring far smaller than they are.
// The other shm tier suites are test/fast-path-shm-*.test.ts.
import { createHash, randomBytes } from 'node:crypto';
import { encode } from '@fastpath/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { channelInfo, recordShmNames } from './fixtures/shm-control.js';
import { closeAll } from './helpers/closers.js';
import { connectShm, MODES, shmOk, startServer } from './helpers/shm-setup.js';
import { rejectsWith } from './helpers/util.js';

afterEach(closeAll);

// As in every shm test file, the shm tier is wrapped to record the names it uses (the kill -9
// tests read them).
beforeAll(async () => {
  await recordShmNames();
});

describe.skipIf(!shmOk)('shm tier: large frames across chunking', () => {
  const MAX = 8 * 1024 * 1024;
  // A REQUEST body is [method, budget, metadata, payload]; a bin32 payload adds a fixed overhead.
  const overhead = encode(['Calc.echo', null, null, Buffer.alloc(70_000)]).length - 70_000;
  const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

  it.each(MODES)('%s: 1 MiB and maxFrameBytes-sized payloads round-trip intact through a 64 KiB ring', async (mode) => {
    const server = await startServer({ tiers: ['shm'], shm: { mode, ringBytes: 65536 }, maxFrameBytes: MAX });
    const client = await connectShm(server.address, mode, { maxFrameBytes: MAX });
    expect(client.path).toBe('shm');
    const info = channelInfo(client) as { ringBytes?: number } | undefined;
    if (info) expect(info.ringBytes).toBe(65536);
    // 1 MiB, then a REQUEST body of exactly maxFrameBytes (the RESPONSE is 13 bytes smaller).
    for (const size of [1024 * 1024, MAX - overhead]) {
      const payload = randomBytes(size);
      const back = await client.call<Uint8Array>('Calc.echo', payload);
      expect(back.byteLength).toBe(size);
      expect(digest(back)).toBe(digest(payload));
    }
    // Several at once, interleaved with small calls: the frames share the ring in order.
    const big = Array.from({ length: 3 }, () => randomBytes(1024 * 1024 + 7));
    const results = await Promise.all([...big.map((p) => client.call<Uint8Array>('Calc.echo', p)), client.call('Calc.add', { a: 2, b: 3 })]);
    big.forEach((p, i) => expect(digest(results[i] as Uint8Array)).toBe(digest(p)));
    expect(results[3]).toEqual({ sum: 5 });
    // One byte over the limit is refused before it is sent, and the connection carries on.
    const err = await rejectsWith(client.call('Calc.echo', Buffer.alloc(MAX - overhead + 1)));
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(await client.call('Calc.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    expect(client.path).toBe('shm');
  });
});
