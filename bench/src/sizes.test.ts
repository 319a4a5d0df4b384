// The payload-size section with in-process rows (an echo that answers on a later turn of the
// event loop, as a socket would): ordering, the comparison per size, failures and skips.
import { describe, expect, it } from 'vitest';
import type { EchoChannel } from './ping-pong.js';
import type { Row } from './rows/row.js';
import { formatBytes, runSizesSection, sizesTable } from './sizes.js';

function loopbackRow(name: string, opts: { failAt?: number; skip?: string } = {}): Row & { sizesSeen: number[] } {
  const sizesSeen: number[] = [];
  return {
    name,
    description: `${name} (in process)`,
    sizesSeen,
    async skipReason() {
      return opts.skip;
    },
    async withSession(fn) {
      return fn({
        details: { peer: 'in-process' },
        async channel(bytes): Promise<EchoChannel> {
          sizesSeen.push(bytes);
          return {
            send(payload, done) {
              const copy = Buffer.from(payload);
              if (bytes === opts.failAt) copy[copy.length - 1] ^= 1;
              setImmediate(() => done(null, copy));
            },
          };
        },
      });
    },
  };
}

describe('payload sizes section', () => {
  it('runs every size on one session per row, orders by size then row, and compares with the baseline at the same size', async () => {
    const raw = loopbackRow('raw-tcp');
    const fp = loopbackRow('fastpath-tcp', { failAt: 256 });
    const grpc = loopbackRow('grpc-tcp', { skip: 'not here' });
    const other = loopbackRow('raw-tcp6'); // not a row of this section
    const results = await runSizesSection([raw, other, fp, grpc], ['raw-tcp', 'raw-tcp6', 'fastpath-tcp', 'grpc-tcp'], { bytes: [16, 256], n: 20, warmup: 2, maxMs: 1000 }, 'raw-tcp');
    expect(raw.sizesSeen).toEqual([16, 256]);
    expect(other.sizesSeen).toEqual([]);
    expect(results.map((r) => `${r.bytes} ${r.name} ${r.status}`)).toEqual(['16 raw-tcp ok', '16 fastpath-tcp ok', '16 grpc-tcp skipped', '256 raw-tcp ok', '256 fastpath-tcp failed', '256 grpc-tcp skipped']);
    expect(results[0]!.vsBaseline).toEqual({ latencyReduction: 0, jitterReduction: 0, p50Ratio: 1 });
    const fp16 = results[1]!;
    expect(fp16.stats!.count).toBe(20);
    expect(fp16.vsBaseline!.p50Ratio).toBeCloseTo(fp16.stats!.p50 / results[0]!.stats!.p50, 10);
    expect(results[4]!.reason).toMatch(/differs from the 256-byte payload/);

    const table = sizesTable(results);
    expect(table).toMatch(/^\s*size\s+row\s+n\s+mean\s+p50\s+p99\s+p99\.9\s+max\s+stddev\s+rt\/s\s+MiB\/s\s+lat\.red\s+jit\.red\s+p50\/base$/m);
    expect(table).toMatch(/^\s+16 B\s+raw-tcp\s+20\s/m);
    expect(table).toMatch(/^256 B\s+raw-tcp\s+20\s/m);
    expect(table).toContain('fastpath-tcp 256 B: failed: round trip');
    // A row skipped at every size is listed once.
    expect(table.match(/grpc-tcp: skipped: not here/g)).toHaveLength(1);
  });

  it('formats sizes', () => {
    expect([16, 256, 4096, 65536, 1048576, 1000].map(formatBytes)).toEqual(['16 B', '256 B', '4 KiB', '64 KiB', '1 MiB', '1000 B']);
  });
});
