// The demo's subscriber process: `count` connections to the server, each subscribed to
// Market.ticks through the generated MarketClient (every tick is validated against the contract).
// Usage: watcher.ts <server-url> <count> <ticks-expected>
// Prints JSON lines: {"ready": true, ...} once every subscription is accepted, then
// {"done": true, ...} once every subscriber has all the ticks. Exits when its stdin closes.
import { connect, type Client } from '@fastpath/core';
import { MarketClient } from './generated/market.js';

const [address = '', countArg = '3', expectedArg = '1000'] = process.argv.slice(2);
const count = Number(countArg);
const expected = Number(expectedArg);

const clients: Client[] = [];
const received: number[] = [];
let inOrder = true;
let doneSent = false;

const report = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(line)}\n`);

for (let i = 0; i < count; i++) {
  const role = `watcher/sub-${i + 1}`;
  const client = await connect(address, { metadata: { role } });
  clients.push(client);
  received.push(0);
  const sub = new MarketClient(client).ticks.subscribe({
    callback: (data) => {
      // Ticks are numbered 1..expected in publish order: one publisher, so they arrive in order.
      if (data.n !== received[i]! + 1) inOrder = false;
      received[i]!++;
      if (!doneSent && received.every((r) => r >= expected)) {
        doneSent = true;
        report({ done: true, received, inOrder });
      }
    },
  });
  await sub.ready;
}
report({ ready: true, pid: process.pid, connections: clients.map((c, i) => ({ role: `watcher/sub-${i + 1}`, path: c.pathInfo.path, ...(c.pathInfo.reason ? { reason: c.pathInfo.reason } : {}) })) });

const stop = (): void => {
  setTimeout(() => process.exit(0), 1000).unref();
  void Promise.allSettled(clients.map((c) => c.close())).then(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
