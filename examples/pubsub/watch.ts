// Usage: watch.ts [server-url] [pattern]   (default tcp://127.0.0.1:7001, ticks.*)
//
// A plain subscriber: it gets every tick whose subject matches the pattern (`*` is one token, `>`
// the rest), in the order the server published them. Stop it with Ctrl-C.
import { connect, FastpathError } from '@fastpath/core';
import { TickerValidators } from './generated/ticker.js';
import type { Tick } from './ticker.js';

const url = process.argv[2] ?? 'tcp://127.0.0.1:7001';
const pattern = process.argv[3] ?? 'ticks.*';

const client = await connect(url);

// Only the server may publish ticks.
try {
  await client.publish('ticks.FAKE', { symbol: 'FAKE', seq: -1, price: 0 }, { ack: true });
} catch (err) {
  if (!FastpathError.is(err)) throw err;
  console.log(`[watch] publishing to ticks.FAKE -> ${err.code}`);
}

// The generated validator checks every tick before the loop sees it.
const sub = client.subscribe<Tick>(pattern, { validate: TickerValidators.ticks.message });
await sub.ready;
console.log(`[watch] subscribed to ${pattern} (path ${client.path})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => sub.unsubscribe());

for await (const { subject, data } of sub) {
  console.log(`[watch] ${subject} #${data.seq} ${data.price.toFixed(2)}`);
}
// The loop ends when we unsubscribe.
await client.close();
