// The demo's server process. It implements the Market contract through the generated
// registerMarket() (requests are validated before a handler runs), routes the client's tick
// publishes to every subscriber, and, for the latency table only, also runs a raw node:net echo
// server (no framework) to compare with.
// Usage: server.ts [listen-url]   (default tcp://127.0.0.1:0)
// It prints one JSON line on stdout: {"address", "rawEcho", "pid"}; it exits when its stdin closes.
import net from 'node:net';
import { FastpathError, Server } from '@fastpath/core';
import { registerMarket } from './generated/market.js';
import { SYMBOLS } from './market.js';
import { RAW_MESSAGE_BYTES } from './raw-echo.js';

const listen = process.argv[2] ?? 'tcp://127.0.0.1:0';
const server = new Server({ listen });

const priceOf = (symbol: string, i = 0): number => 10_000 + ((symbol.charCodeAt(0) * 37 + i * 125) % 2_000);
let quotes = 0n;
let orders = 0n;

registerMarket(server, {
  quote: ({ symbol }) => {
    if (!(SYMBOLS as readonly string[]).includes(symbol)) throw new FastpathError('NOT_FOUND', `no such symbol: ${symbol}`, { details: { symbol } });
    return { symbol, priceCents: priceOf(symbol), seq: ++quotes };
  },
  order: ({ symbol, quantity }) => {
    if (quantity <= 0) throw new FastpathError('INVALID_ARGUMENT', 'quantity must be positive', { details: { quantity } });
    return { orderId: ++orders, filledCents: quantity * priceOf(symbol) };
  },
  async *history({ symbol, points }, ctx) {
    for (let i = 0; i < points && !ctx.aborted; i++) yield { symbol, priceCents: priceOf(symbol, i) };
  },
  connections: () => ({
    pid: process.pid,
    connections: server.connections().map((c) => ({ id: c.id, role: c.meta.role ?? '?', path: c.path, ...(c.reason ? { reason: c.reason } : {}) })),
  }),
  echo: (payload) => payload,
});

// The raw baseline: cut the byte stream into fixed-size messages and write each one back.
const raw = net.createServer({ noDelay: true }, (socket) => {
  socket.setNoDelay(true);
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= RAW_MESSAGE_BYTES) {
      socket.write(pending.subarray(0, RAW_MESSAGE_BYTES));
      pending = pending.subarray(RAW_MESSAGE_BYTES);
    }
  });
  socket.on('error', () => {});
});

await server.start();
await new Promise<void>((resolve) => raw.listen({ host: '127.0.0.1', port: 0 }, resolve));
const { port } = raw.address() as net.AddressInfo;
console.log(JSON.stringify({ address: server.address, rawEcho: `tcp://127.0.0.1:${port}`, pid: process.pid }));

let closing = false;
const stop = (): void => {
  if (closing) return;
  closing = true;
  setTimeout(() => process.exit(0), 2000).unref();
  raw.close();
  void server.close({ graceMs: 500 }).then(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
