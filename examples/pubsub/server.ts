// Usage: server.ts [listen-url] [interval-ms]   (default tcp://127.0.0.1:7001, 200 ms)
//
// The broker and the ticker in one process: it accepts subscribers, and every interval publishes
// one tick on `ticks.<symbol>`, cycling through the symbols. Clients may subscribe to anything,
// but only the server publishes ticks: a client's publish to `ticks.*` is PERMISSION_DENIED.
import { Server } from '@fastpath/core';
import { SYMBOLS, tickSubject, type Tick } from './ticker.js';

const listen = process.argv[2] ?? 'tcp://127.0.0.1:7001';
const intervalMs = Number(process.argv[3] ?? 200);

const server = new Server({
  listen,
  authorize: {
    publish: (subject) => !subject.startsWith('ticks.'),
  },
  // A subscriber that stops reading cannot make this process grow: beyond its connection's write
  // buffer (highWaterBytes, 1 MiB by default) at most 1000 ticks wait for it, then the oldest are
  // dropped (and 'slow-consumer' says so).
  subscriptionQueue: { maxMessages: 1000, policy: 'drop-oldest' },
});
server.on('path', (info, c) => console.error(`[server] ${c.remote} is on ${info.path}${info.reason ? ` (${info.reason})` : ''}`));
server.on('slow-consumer', (info, c) => console.error(`[server] slow consumer on ${c.remote}: ${info.subject}, dropped ${info.dropped}`));
await server.start();
// One JSON line on stdout tells a supervising process (or a test) where we listen.
console.log(JSON.stringify({ address: server.address, pid: process.pid }));

let seq = 0;
let price = 100;
const timer = setInterval(() => {
  const symbol = SYMBOLS[seq % SYMBOLS.length]!;
  price = Math.round((price + Math.sin(seq) * 0.5) * 100) / 100;
  const tick: Tick = { symbol, seq, price };
  server.publish(tickSubject(symbol), tick);
  seq++;
}, intervalMs);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    clearInterval(timer);
    void server.close({ graceMs: 1000 }).then(() => process.exit(0));
  });
}
