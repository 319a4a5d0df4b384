// `npm start`: the fastpath demo. This process is the client; it starts the server and a watcher
// (three subscribers) as processes of their own, then shows typed calls through the generated
// MarketClient, a server stream, a pub-sub fan-out, the tier every connection negotiated and why,
// and a short latency table: raw node:net TCP, fastpath on tcp, fastpath on its best tier here.
// Usage: main.ts [--round-trips N] [--ticks N] [--subscribers N]
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inspect, parseArgs } from 'node:util';
import { connect, FastpathError, type Client } from '@fastpath/core';
import { MarketClient } from './generated/market.js';
import { connectRawEcho, RAW_MESSAGE_BYTES } from './raw-echo.js';

const started = performance.now();
const { values } = parseArgs({
  options: { 'round-trips': { type: 'string', default: '5000' }, ticks: { type: 'string', default: '1000' }, subscribers: { type: 'string', default: '3' } },
});
const roundTrips = positive(values['round-trips'], '--round-trips');
const tickCount = positive(values.ticks, '--ticks');
const subscriberCount = positive(values.subscribers, '--subscribers');
const warmup = Math.min(500, Math.ceil(roundTrips / 10));
// Everything below is bounded: the demo gives up (exit 1) rather than hang.
const WATCHDOG_MS = 28_000;

function positive(text: string | undefined, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error(`demo: ${flag} expects a positive whole number, got "${text}"`);
    process.exit(2);
  }
  return n;
}

const out = (line = ''): void => console.log(line);
const show = (v: unknown): string => inspect(v, { breakLength: Infinity, depth: 4 });
const fmt = (n: number, digits = 1): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---- the other processes -------------------------------------------------------------------

interface Child {
  proc: ChildProcess;
  /** The JSON lines it printed, as they arrive. */
  next(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<number | null>;
}

const children: Child[] = [];

/** Starts a TypeScript file of this example as its own Node process (`node -C fastpath-src --import tsx`). */
function start(file: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['-C', 'fastpath-src', '--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const stderr: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
      for (const w of waiters) w();
    } catch {
      // not a report line
    }
  });
  createInterface({ input: proc.stderr! }).on('line', (l) => stderr.push(l));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  proc.stdin!.on('error', () => {});
  const child: Child = {
    proc,
    next(match, what, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const i = lines.findIndex(match);
          if (i < 0) return;
          cleanup();
          resolve(lines.splice(i, 1)[0]!);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${file}: no ${what} within ${timeoutMs} ms${stderr.length ? `:\n${stderr.join('\n')}` : ''}`));
        }, timeoutMs);
        const onExit = (code: number | null): void => {
          cleanup();
          reject(new Error(`${file} exited (${code}) before ${what}${stderr.length ? `:\n${stderr.join('\n')}` : ''}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
          proc.off('exit', onExit);
        };
        waiters.add(check);
        proc.once('exit', onExit);
        check();
      });
    },
    async stop() {
      proc.stdin!.end(); // the child's signal to close and exit
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  children.push(child);
  return child;
}

const watchdog = setTimeout(() => {
  console.error(`demo: did not finish within ${WATCHDOG_MS / 1000} s; stopping`);
  for (const c of children) c.proc.kill('SIGKILL');
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

// ---- why a connection is on its tier -------------------------------------------------------

function why(path: string, reason: string | undefined): string {
  if (reason) return reason;
  if (path === 'shm') return 'same host and user: upgraded to shared-memory rings, the fastest tier';
  if (path === 'uds') return 'same host and user: upgraded to a Unix socket, the fastest tier available';
  return 'the fastest tier allowed';
}

// ---- latency ---------------------------------------------------------------------------------

interface Latency {
  p50: number;
  p99: number;
  mean: number;
  perSec: number;
}

/** `warmup` unmeasured round trips, then `n` measured ones, one at a time. RTTs in µs. */
async function measure(roundTrip: (payload: Buffer) => Promise<Uint8Array>, n: number): Promise<Latency> {
  const payload = Buffer.alloc(RAW_MESSAGE_BYTES, 0x5a);
  const samples = new Float64Array(n);
  for (let i = 0; i < warmup; i++) await roundTrip(payload);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    payload.writeUInt32LE(i, 0);
    const s = process.hrtime.bigint();
    const echo = await roundTrip(payload);
    samples[i] = Number(process.hrtime.bigint() - s) / 1000;
    if (echo.length !== payload.length || Buffer.compare(Buffer.from(echo.buffer, echo.byteOffset, echo.byteLength), payload) !== 0) throw new Error(`round trip ${i}: the echo differs from what was sent`);
  }
  const total = Number(process.hrtime.bigint() - t0) / 1000;
  samples.sort();
  const at = (p: number): number => samples[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)]!;
  return { p50: at(50), p99: at(99), mean: samples.reduce((a, b) => a + b, 0) / n, perSec: (n / total) * 1e6 };
}

// ---- the demo --------------------------------------------------------------------------------

const clients: Client[] = [];
try {
  out('fastpath demo: typed RPC and pub-sub between Node processes, on the fastest path this host allows');
  out();
  const server = start('./server.ts', ['tcp://127.0.0.1:0']);
  const { address, rawEcho, pid: serverPid } = (await server.next((l) => typeof l.address === 'string', 'address line')) as { address: string; rawEcho: string; pid: number };
  const watcher = start('./watcher.ts', [address, String(subscriberCount), String(tickCount)]);
  // The main connection takes the default: the fast path when the server is on this host.
  const main = await connect(address, { metadata: { role: 'client/main' } });
  // A second connection with the fast path turned off: what a peer on another machine gets.
  const tcpOnly = await connect(address, { fastPath: 'off', metadata: { role: 'client/tcp-only' } });
  clients.push(main, tcpOnly);
  const market = new MarketClient(main);
  const ready = (await watcher.next((l) => l.ready === true, 'ready line')) as { pid: number };

  out(`  server   pid ${String(serverPid).padEnd(7)} listens on ${address}   (examples/demo/server.ts)`);
  out(`  client   pid ${String(process.pid).padEnd(7)} this process, 2 connections   (examples/demo/main.ts)`);
  out(`  watcher  pid ${String(ready.pid).padEnd(7)} ${subscriberCount} subscriber connections   (examples/demo/watcher.ts)`);

  // 1. Every connection starts on the address it was given; the handshake upgrades it when it can.
  out();
  out(`1. Connections: each one dialled ${address}; the tier it negotiated, and why (as the server sees them)`);
  const view = await market.connections({ deadline: 2000 });
  const roleWidth = Math.max(4, ...view.connections.map((c) => c.role.length));
  out(`  ${'id'.padStart(3)}  ${'role'.padEnd(roleWidth)}  tier  why`);
  for (const c of view.connections) out(`  ${String(c.id).padStart(3)}  ${c.role.padEnd(roleWidth)}  ${c.path.padEnd(4)}  ${why(c.path, c.reason)}`);

  // 2. Typed calls through the generated client: requests and responses are checked against the contract.
  out();
  out('2. Typed calls through the generated MarketClient (examples/demo/generated/market.ts)');
  const call = async (label: string, run: () => Promise<unknown>): Promise<void> => {
    try {
      out(`  ${label.padEnd(52)} -> ${show(await run())}`);
    } catch (err) {
      if (!FastpathError.is(err)) throw err;
      out(`  ${label.padEnd(52)} -> ${err.code}: ${err.message}`);
    }
  };
  await call(`quote({ symbol: 'ACME' })`, () => market.quote({ symbol: 'ACME' }, { deadline: 1000 }));
  await call(`order({ symbol: 'ACME', side: 'buy', quantity: 10 })`, () => market.order({ symbol: 'ACME', side: 'buy', quantity: 10 }, { deadline: 1000 }));
  await call(`quote({ symbol: 'NOPE' })`, () => market.quote({ symbol: 'NOPE' }, { deadline: 1000 }));
  // A request the contract refuses: the server's generated validator answers before the handler runs.
  await call(`order({ symbol: 'ACME', side: 'hold', quantity: 1 })`, () => market.order({ symbol: 'ACME', side: 'hold' as 'buy', quantity: 1 }, { deadline: 1000 }));

  // 3. A server stream, with credit-based flow control.
  out();
  out(`3. Server stream: history({ symbol: 'GLOBEX', points: 5 })`);
  const prices: string[] = [];
  for await (const { priceCents } of market.history({ symbol: 'GLOBEX', points: 5 }, { deadline: 2000 })) prices.push(fmt(priceCents / 100, 2));
  out(`  ${prices.join('  ')}   (${prices.length} messages)`);

  // 4. Pub-sub: this process publishes, the server fans each tick out to every subscriber.
  out();
  out(`4. Pub-sub fan-out: ${tickCount.toLocaleString('en-US')} ticks published on Market.ticks -> server -> ${subscriberCount} subscribers in the watcher process`);
  const fanStart = performance.now();
  for (let n = 1; n <= tickCount; n++) {
    const tick = { symbol: 'ACME', priceCents: 10_000 + (n % 100), n };
    // The last publish asks the server for an acknowledgement: every tick before it was routed.
    if (n === tickCount) await market.ticks.publish(tick, { ack: true });
    else void market.ticks.publish(tick);
  }
  const done = (await watcher.next((l) => l.done === true, `all ${tickCount} ticks at every subscriber`, 10_000)) as { received: number[]; inOrder: boolean };
  const fanMs = performance.now() - fanStart;
  out(`  every subscriber received ${done.received.map((r) => r.toLocaleString('en-US')).join(' / ')} of ${tickCount.toLocaleString('en-US')} ticks, ${done.inOrder ? 'in publish order' : 'NOT in order'}, in ${fmt(fanMs)} ms`);
  if (!done.inOrder || done.received.some((r) => r !== tickCount)) throw new Error('the fan-out lost or reordered ticks');

  // 5. Latency: the same 64-byte echo three ways, one call in flight.
  out();
  out(`5. Latency: 64-byte echo, one call in flight, ${roundTrips.toLocaleString('en-US')} round trips each after ${warmup} warm-up`);
  const raw = await connectRawEcho(rawEcho);
  const tcpMarket = new MarketClient(tcpOnly);
  const rows: Array<{ label: string; tier: string; lat: Latency }> = [];
  try {
    rows.push({ label: 'raw node:net TCP (no framework)', tier: '-', lat: await measure((p) => raw.roundTrip(p), roundTrips) });
  } finally {
    raw.close();
  }
  rows.push({ label: "fastpath, fastPath: 'off'", tier: tcpOnly.path, lat: await measure((p) => tcpMarket.echo(p), roundTrips) });
  rows.push({ label: 'fastpath, default (best tier here)', tier: main.path, lat: await measure((p) => market.echo(p), roundTrips) });
  const base = rows[0]!.lat.p50;
  const vs = (p50: number): string => (p50 === base ? '1.00x' : p50 < base ? `${fmt(base / p50, 1)}x faster` : `${fmt(p50 / base, 2)}x slower`);
  const labelWidth = Math.max(...rows.map((r) => r.label.length));
  out(`  ${'path'.padEnd(labelWidth)}  tier  ${'p50 µs'.padStart(8)}  ${'p99 µs'.padStart(8)}  ${'mean µs'.padStart(8)}  ${'calls/s'.padStart(9)}  p50 vs raw TCP`);
  for (const r of rows) {
    out(
      `  ${r.label.padEnd(labelWidth)}  ${r.tier.padEnd(4)}  ${fmt(r.lat.p50).padStart(8)}  ${fmt(r.lat.p99).padStart(8)}  ${fmt(r.lat.mean).padStart(8)}  ${Math.round(r.lat.perSec).toLocaleString('en-US').padStart(9)}  ${vs(r.lat.p50)}`,
    );
  }
  out('  One short run on this machine, not a benchmark: `npm run bench` measures every tier, gRPC, payload sizes and throughput.');

  await Promise.all(clients.map((c) => c.close()));
  clients.length = 0;
  const codes = await Promise.all(children.map((c) => c.stop()));
  out();
  out(`done in ${fmt((performance.now() - started) / 1000)} s; the server and watcher processes exited ${codes.every((c) => c === 0) ? 'cleanly' : `with codes ${codes.join(', ')}`}`);
  process.exitCode = codes.every((c) => c === 0) ? 0 : 1;
} catch (err) {
  console.error(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await Promise.allSettled(clients.map((c) => c.close()));
  for (const c of children) c.proc.kill('SIGKILL');
  process.exitCode = 1;
}
