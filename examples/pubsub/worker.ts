// Usage: worker.ts [server-url] [queue-group]   (default tcp://127.0.0.1:7001, workers)
//
// A queue-group member: start several, and each tick is handled by exactly one of them (the
// server hands the group's messages to its members in turn). Stop it with Ctrl-C.
import { connect } from '@fastpath/core';
import { TickerValidators } from './generated/ticker.js';
import type { Tick } from './ticker.js';

const url = process.argv[2] ?? 'tcp://127.0.0.1:7001';
const group = process.argv[3] ?? 'workers';
const me = `[worker ${process.pid}]`;

const client = await connect(url);
// The callback form: no queue in this process, each tick is handled as it arrives.
let handled = 0;
const sub = client.subscribe<Tick>('ticks.>', {
  queue: group,
  // The generated validator checks every tick before the callback sees it.
  validate: TickerValidators.ticks.message,
  callback: (tick, { subject }) => {
    handled++;
    console.log(`${me} ${subject} #${tick.seq} handled`);
  },
});
await sub.ready;
console.log(`${me} joined queue group ${group} (path ${client.path})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    sub.unsubscribe();
    console.log(`${me} handled ${handled} ticks`);
    void client.close().then(() => process.exit(0));
  });
}
