/**
 * Latency probe (not a test): 64-byte ping-pong between two processes over the shm tier in each
 * mode, next to raw node:net over a Unix socket and TCP for reference. Both ends are
 * single-threaded Node processes; the pinger sends the next ping when the pong arrives.
 *
 *   node -C fastpath-src --import tsx packages/native/scripts/pingpong.ts [--n 3000] [--warmup 500]
 *        [--modes inline,worker,adaptive,spin] [--spin 200] [--spin-budget 1000]
 *        [--spin-mode adaptive] [--pin 0,1] [--no-net]
 *
 * The `spin` row is `--spin-mode` plus the opt-in synchronous spin (`spin: { budgetMicros:
 * --spin-budget }`) on both ends. Both ends are main threads here, so it sets allowMainThread.
 * `--pin a,b` pins the pinger to CPU a and each pong process to CPU b (taskset), for every row: the
 * scheduler's placement (same core or not) decides the spin row, and the worker row too.
 *
 * DIRBASE=/some/dir puts the doorbell FIFOs there (default: $XDG_RUNTIME_DIR or the tmpdir).
 * Prints one line per row: p50, p99, mean and max RTT in µs, and round trips per second.
 * CPU is shared on dev machines: treat the numbers as rough and compare rows of one run.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachShm, createShmOffer, type ShmConnection, type ShmMode } from '../src/index.js';

const self = fileURLToPath(import.meta.url);
const PAYLOAD = 64;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

// ---- the pong side (a child process) ----
if (process.argv[2] === '--pong') {
  const kind = process.argv[3]!;
  const target = JSON.parse(process.argv[4]!);
  if (kind === 'shm') {
    const c = attachShm(target.token, { mode: target.mode as ShmMode, spinMicros: target.spin, ...spinOption(target.spinBudget) });
    c.onData = (b) => c.write(b);
    c.onClose = () => process.exit(0);
  } else {
    const s = net.connect(target);
    s.setNoDelay(true);
    s.on('data', (b) => s.write(b));
    s.on('close', () => process.exit(0));
    s.on('error', () => process.exit(0));
  }
  process.send?.('ready');
} else {
  await main();
}

function spinOption(budget: number | undefined): { spin?: { budgetMicros: number; allowMainThread: boolean } } {
  return budget ? { spin: { budgetMicros: budget, allowMainThread: true } } : {};
}

function startPong(kind: string, target: unknown): ChildProcess {
  const child = fork(self, ['--pong', kind, JSON.stringify(target)], { execArgv: ['-C', 'fastpath-src', '--import', 'tsx'], stdio: 'inherit' });
  const pin = arg('pin', '');
  if (pin) {
    const [a, b] = pin.split(',');
    execFileSync('taskset', ['-acp', a!, String(process.pid)], { stdio: 'ignore' });
    execFileSync('taskset', ['-acp', b ?? a!, String(child.pid)], { stdio: 'ignore' });
  }
  return child;
}

type Io = { write(b: Buffer): void; onData(fn: (b: Buffer) => void): void; close(): void };

/** Runs n+warmup round trips, one ping in flight at a time; the RTT is pong arrival minus ping send. */
function pingpong(io: Io, n: number, warmup: number): Promise<number[]> {
  const rtts: number[] = [];
  const ping = Buffer.alloc(PAYLOAD);
  let got = 0;
  let i = 0;
  let sentAt = 0n;
  const send = (): void => {
    sentAt = process.hrtime.bigint();
    ping.writeBigUInt64LE(sentAt, 0);
    io.write(ping);
  };
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('ping-pong stalled for 30 s')), 30_000);
    io.onData((b) => {
      got += b.length;
      if (got < PAYLOAD) return;
      got -= PAYLOAD;
      if (i >= warmup) rtts.push(Number(process.hrtime.bigint() - sentAt) / 1000);
      i++;
      if (i >= n + warmup) {
        clearTimeout(guard);
        resolve(rtts);
        return;
      }
      send();
    });
    send();
  });
}

function report(name: string, rtts: number[]): void {
  const s = [...rtts].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const f = (x: number): string => x.toFixed(2).padStart(9);
  console.log(`${name.padEnd(14)} p50 ${f(q(0.5))} µs  p99 ${f(q(0.99))} µs  mean ${f(mean)} µs  max ${f(s[s.length - 1]!)} µs  ${Math.round(1e6 / mean).toString().padStart(7)} rt/s`);
}

async function runShm(mode: ShmMode, n: number, warmup: number, spin: number, spinBudget?: number): Promise<void> {
  const offer = createShmOffer({ mode, spinMicros: spin, ...spinOption(spinBudget), ...(process.env.DIRBASE ? { dirBase: process.env.DIRBASE } : {}) });
  const child = startPong('shm', { token: offer.token, mode, spin, spinBudget });
  const conn: ShmConnection = await offer.attached;
  const io: Io = { write: (b) => conn.write(b), onData: (fn) => (conn.onData = fn as (c: Uint8Array) => void), close: () => conn.close() };
  const rtts = await pingpong(io, n, warmup);
  report(spinBudget ? `shm-spin` : `shm-${mode}`, rtts);
  if (spinBudget) {
    const i = conn.info();
    console.log(`${''.padEnd(14)} (${mode} + spin ${spinBudget} µs; pinger: ${i.spinDeliveries} of ${i.spins} spins caught the pong)`);
  }
  conn.close();
  await new Promise((r) => child.once('exit', r));
}

async function runNet(kind: 'uds' | 'tcp', n: number, warmup: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fastpath-probe-'));
  const server = net.createServer();
  const listening = kind === 'uds' ? { path: join(dir, 's.sock') } : { host: '127.0.0.1', port: 0 };
  await new Promise<void>((r) => server.listen(listening, r));
  const addr = server.address();
  const target = kind === 'uds' ? { path: join(dir, 's.sock') } : { host: '127.0.0.1', port: (addr as net.AddressInfo).port };
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const child = startPong(kind, target);
  const sock = await accepted;
  sock.setNoDelay(true);
  const io: Io = { write: (b) => sock.write(b), onData: (fn) => sock.on('data', fn), close: () => sock.end() };
  report(`raw-${kind}`, await pingpong(io, n, warmup));
  sock.destroy();
  server.close();
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const n = Number(arg('n', '3000'));
  const warmup = Number(arg('warmup', '500'));
  const spin = Number(arg('spin', '200'));
  const spinBudget = Number(arg('spin-budget', '1000'));
  const spinMode = arg('spin-mode', 'adaptive') as ShmMode;
  const modes = arg('modes', 'inline,worker,adaptive,spin').split(',');
  const pin = arg('pin', '');
  console.log(`64-byte ping-pong, ${n} round trips after ${warmup} warm-up, node ${process.version}, spinMicros ${spin}${pin ? `, pinned ${pin}` : ''}`);
  if (!process.argv.includes('--no-net')) {
    await runNet('tcp', n, warmup);
    await runNet('uds', n, warmup);
  }
  for (const m of modes) {
    if (m === 'spin') await runShm(spinMode, n, warmup, spin, spinBudget);
    else await runShm(m as ShmMode, n, warmup, spin);
  }
}
