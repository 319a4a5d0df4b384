// `npm run soak`: the long versions of the load and leak checks (issue 9), with their figures.
// Do not run it while others use the machine: it keeps both cores busy for about 3-4 minutes
// (2 vCPUs). The lead records its output in docs/reliability.md ("Soak figures").
//
//   npm run soak                               every tier: 1 000 000 calls, then 10 000 cycles
//   npm run soak -- --tiers tcp,shm-worker     some tiers only (names as in test/helpers/matrix.ts)
//   npm run soak -- --only load|leaks          one half only
//   npm run soak -- --calls 200000 --cycles 2000 --processes 4
//
// Exits 1 if any check fails: a wrong, failed or uncounted call, descriptor growth, a mapped or
// leftover segment, or an object still reachable after garbage collection.
import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { cleanupSocketDirs, transports } from '../helpers/matrix.js';
import { Host, killAllHosts } from './lib/host.js';
import { leakTier, loadTier, type LeakFigures, type LoadFigures } from './lib/load.js';
import { shmEntriesOf } from './lib/sys.js';

const { values } = parseArgs({
  options: {
    tiers: { type: 'string' },
    only: { type: 'string' },
    calls: { type: 'string', default: '1000000' },
    cycles: { type: 'string', default: '10000' },
    'server-cycles': { type: 'string', default: '200' },
    processes: { type: 'string', default: '4' },
    connections: { type: 'string', default: '64' },
    inflight: { type: 'string', default: '4' },
    payload: { type: 'string', default: '64' },
  },
});

const wanted = values.tiers?.split(',').map((s) => s.trim());
const tiers = transports.filter((tc) => !wanted || wanted.includes(tc.name));
if (tiers.length === 0) throw new Error(`no tier matches ${values.tiers}; tiers: ${transports.map((t) => t.name).join(', ')}`);
const calls = Number(values.calls);
const processes = Number(values.processes);
const failures: string[] = [];
const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

console.log(`fastpath soak: Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x ${availableParallelism()}, ${fmt(totalmem() / 2 ** 30, 1)} GiB, ${new Date().toISOString()}`);
console.log(`tiers: ${tiers.map((t) => t.name).join(', ')}\n`);

/** Each client process's correct answers equal what the server counted for it, and nothing else was counted. */
function totalsExact(f: LoadFigures): boolean {
  const keys = new Set([...Object.keys(f.serverCounts), ...Object.keys(f.clientCounts)]);
  return [...keys].every((k) => f.serverCounts[k] === f.clientCounts[k]);
}

async function soakLoad(): Promise<void> {
  const [server, ...clients] = await Promise.all(Array.from({ length: processes + 1 }, () => Host.start()));
  const rows: LoadFigures[] = [];
  console.log(`load: ${fmt(calls)} calls per tier over ${values.connections} connections from ${processes} client processes, ${values.inflight} in flight per connection, ${values.payload}-byte payloads`);
  for (const tc of tiers) {
    const f = await loadTier(server!, clients, tc, {
      calls,
      connections: Number(values.connections),
      inflight: Number(values.inflight),
      payloadBytes: Number(values.payload),
      timeoutMs: 60 * 60_000,
    });
    rows.push(f);
    const exact = totalsExact(f);
    if (f.ok !== calls || f.mismatched || f.failed || !exact || f.timedOut || f.paths.join() !== tc.path) {
      failures.push(`load ${tc.name}: ${JSON.stringify({ ok: f.ok, mismatched: f.mismatched, failed: f.failed, exact, timedOut: f.timedOut, paths: f.paths, errors: f.errorSamples })}`);
    }
    console.log(`  ${tc.name}: ${fmt(f.ok)} ok in ${fmt(f.seconds, 1)} s`);
  }
  console.log('\n| tier | calls | answered correctly | wrong | failed | totals exact | seconds | calls/s | server RSS start / max / end (MiB) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const f of rows) {
    const exact = totalsExact(f);
    console.log(`| ${f.tier} | ${fmt(f.calls)} | ${fmt(f.ok)} | ${f.mismatched} | ${f.failed} | ${exact ? 'yes' : 'NO'} | ${fmt(f.seconds, 1)} | ${fmt(f.callsPerSecond)} | ${fmt(f.rssStartMiB)} / ${fmt(f.rssMaxMiB)} / ${fmt(f.rssEndMiB)} |`);
  }
  console.log();
  for (const h of [server!, ...clients]) h.kill();
}

async function soakLeaks(): Promise<void> {
  const cycles = Number(values.cycles);
  const serverCycles = Number(values['server-cycles']);
  console.log(`leaks: ${fmt(cycles)} connect/call/close cycles and ${serverCycles} server cycles per tier`);
  const rows: Array<LeakFigures & { tier: string; seconds: number; leftovers: number }> = [];
  for (const tc of tiers) {
    const host = await Host.start(['--expose-gc']);
    const t0 = performance.now();
    const f = await leakTier(host, tc, cycles, serverCycles, 60 * 60_000);
    const leftovers = shmEntriesOf(host.pid).length;
    host.kill();
    rows.push({ ...f, tier: tc.name, seconds: (performance.now() - t0) / 1000, leftovers });
    if (f.cycles !== cycles || f.serverCycles !== serverCycles || f.fdNew.length || f.fdAfter > f.fdBefore || f.mapsAfter !== f.mapsBefore || f.alive || leftovers) {
      failures.push(`leaks ${tc.name}: ${JSON.stringify({ ...f, leftovers })}`);
    }
    console.log(`  ${tc.name}: ${fmt(f.cycles)} cycles in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  }
  console.log('\n| tier | cycles | server cycles | fds before / after | shm mapped before / after | /dev/shm left | objects alive after gc | seconds |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const f of rows) {
    console.log(`| ${f.tier} | ${fmt(f.cycles)} | ${f.serverCycles} | ${f.fdBefore} / ${f.fdAfter} | ${f.mapsBefore} / ${f.mapsAfter} | ${f.leftovers} | ${f.alive} of ${fmt(f.refs)} | ${fmt(f.seconds, 1)} |`);
  }
  console.log();
}

try {
  if (values.only !== 'leaks') await soakLoad();
  if (values.only !== 'load') await soakLeaks();
} finally {
  await killAllHosts();
  cleanupSocketDirs();
}
if (failures.length) {
  console.log(`FAILED:\n${failures.join('\n')}`);
  process.exit(1);
}
console.log('soak: every check passed');
process.exit(0);
