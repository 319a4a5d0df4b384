// The shm tier's limits under a full fastpath Client/Server (issue 3's limit tests): idle CPU, and
// event-loop delay while calls run. The peers measured run in child processes
// (test/fixtures/shm-*.ts) driven over IPC. Every wait is bounded; the only timing assertions are
// the CPU and event-loop-delay bounds, which are far from what a correct implementation measures
// (see each test). The other shm tier suites are test/fast-path-shm-*.test.ts.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { delayMonitor, recordShmNames, type DelayStats } from './fixtures/shm-control.js';
import { closeAll } from './helpers/closers.js';
import { Child, startServerChild, type Msg } from './helpers/shm-child.js';
import { connectShm, shmOk } from './helpers/shm-setup.js';
import { sleep } from './helpers/util.js';
import { note } from './helpers/verbose.js';

afterEach(closeAll);

// As in every shm test file, the shm tier is wrapped to record the names it uses (the kill -9
// tests read them).
beforeAll(async () => {
  await recordShmNames();
});

const cpuReport = (m: Msg): string => JSON.stringify(m);
const delayReport = (d: DelayStats): string =>
  `wall p50 ${d.p50.toFixed(2)} ms, p99 ${d.p99.toFixed(2)} ms, max ${d.max.toFixed(2)} ms (${d.count} samples); ` +
  `on-CPU p99 ${d.onCpu.p99.toFixed(2)} ms, max ${d.onCpu.max.toFixed(2)} ms (${d.onCpu.count} samples); ` +
  `waiting for a CPU ${(d.runQueueShare * 100).toFixed(1)} % of the run`;

describe.skipIf(!shmOk)('shm tier: limits', () => {
  // 5 % of a core is the bound. A correct worker/adaptive end sleeps in epoll on its
  // doorbell once idle, and measures about 0.1 % here (the native suite measured 0.03–0.07 %);
  // a connection still polling measures about 100 %, so the bound separates the two with margin.
  it.each(['worker', 'adaptive'] as const)(
    '%s: an idle connection uses under 5 percent of a core over 2 s, in the server process and in a client process',
    async (mode) => {
      const { child: server, address } = await startServerChild({ tiers: ['shm'], shm: { mode } });
      const client = new Child('test/fixtures/shm-client.ts', [address, JSON.stringify({ fastPath: 'require', tiers: ['shm'], shm: { mode } })]);
      expect(await client.next('ready')).toMatchObject({ path: 'shm', reason: null });
      // Traffic first, so both ends have polled (adaptive) and been woken (worker).
      await client.ask('calls', { n: 500 });
      // The polling window (spinMicros, 200 µs by default) has long passed after this.
      await sleep(250);
      const [s, c] = await Promise.all([server.ask('cpu', { ms: 2000 }), client.ask('cpu', { ms: 2000 })]);
      note(`${mode} idle: server ${((s.fraction as number) * 100).toFixed(3)} %, client ${((c.fraction as number) * 100).toFixed(3)} % of a core; client channel ${JSON.stringify(c.info)}`);
      expect(s.wallMs as number).toBeGreaterThanOrEqual(1990);
      expect(s.fraction as number, `server: ${cpuReport(s)}`).toBeLessThan(0.05);
      expect(c.fraction as number, `client: ${cpuReport(c)}`).toBeLessThan(0.05);
      // And the connection still works after sleeping.
      await client.ask('calls', { n: 10 }, 5000);
    },
  );

  // The bounds. The addon hands frames to JS in bounded batches (batchMax chunks or ~100 µs of
  // copying per callback), so the loop turns every few hundred µs however long the calls run; a
  // loop blocked by the transport (a synchronous spin, an unbounded batch) would not turn for the
  // whole 1.5 s run. Two measures, in the client (this process) and in the server (a child):
  // - monitorEventLoopDelay, wall clock. On a quiet machine p99 is 2-10 ms here. But inline keeps
  //   both processes runnable all the time on this 2-core machine, which other test files and
  //   other work share: with more runnable threads than cores the kernel time-slices them, and a
  //   timer is late by whole scheduler slices. We measured p99 up to 39 ms from that alone (the
  //   thread waited for a CPU 59 % of the run), so a 20 ms bound would be flaky. The wall-clock
  //   bound is a sanity check that fails only on real blocking: p99 < 100 ms, max < 750 ms (half
  //   the run).
  // - On-CPU stall: the CPU time the process used between two ticks of a 1 ms timer. Time spent
  //   preempted is not in it, so it measures our code rather than the neighbours and can be held
  //   tight: p99 < 10 ms. Measured: about 1 ms (the tick) when quiet, 2-4 ms under contention
  //   (getrusage accounting granularity); a batch loop that ignored its budget would show here.
  //   The failure message carries the share of the run the main thread spent waiting for a CPU
  //   (/proc/thread-self/schedstat), to tell contention from blocking.
  it.each(['inline', 'adaptive'] as const)(
    '%s: the event loop keeps turning while calls run, in the client and the server process',
    async (mode) => {
      const { child: server, address } = await startServerChild({ tiers: ['shm'], shm: { mode } });
      const client = await connectShm(address, mode);
      expect(client.path).toBe('shm');
      await client.call('Calc.add', { a: 1, b: 1 }); // warm up
      await server.ask('delayStart');
      const monitor = delayMonitor();
      const end = Date.now() + 1500;
      let calls = 0;
      // Eight ping-pong loops plus bursts of 256 pipelined calls: latency- and throughput-shaped load at once.
      const loops = Array.from({ length: 8 }, async () => {
        while (Date.now() < end) {
          await client.call('Calc.add', { a: calls, b: 1 });
          calls++;
        }
      });
      const bursts = (async () => {
        while (Date.now() < end) {
          await Promise.all(Array.from({ length: 256 }, (_, i) => client.call('Calc.add', { a: i, b: 0 })));
          calls += 256;
          await sleep(10);
        }
      })();
      await Promise.all([...loops, bursts]);
      const local = monitor.stop();
      const remote = (await server.ask('delayStop')) as unknown as DelayStats;
      note(`${mode} loop delay over ${calls} calls: client ${delayReport(local)}; server ${delayReport(remote)}`);
      expect(calls).toBeGreaterThan(1000);
      expect(local.count).toBeGreaterThan(20);
      for (const [who, d] of [['client', local], ['server', remote]] as const) {
        expect(d.p99, `${who} loop delay: ${delayReport(d)}`).toBeLessThan(100);
        expect(d.max, `${who} loop delay: ${delayReport(d)}`).toBeLessThan(750);
        expect(d.onCpu.count, `${who}: on-CPU samples`).toBeGreaterThan(20);
        expect(d.onCpu.p99, `${who} loop delay: ${delayReport(d)}`).toBeLessThan(10);
      }
    },
  );
});
