// Usage: server.ts [listen-url]   (default tcp://127.0.0.1:7000)
import { FastpathError, Server } from '@fastpath/core';
import type { Greeter } from './greeter.js';

const listen = process.argv[2] ?? 'tcp://127.0.0.1:7000';
const server = new Server({ listen });

server.addService<Greeter>('Greeter', {
  hello: ({ name }) => {
    if (typeof name !== 'string' || name.length === 0) throw new FastpathError('INVALID_ARGUMENT', 'name is required');
    return { greeting: `Hello, ${name}!`, servedBy: process.pid };
  },
  add: ({ a, b }) => ({ sum: a + b }),
});

server.on('connection', (c) => console.error(`[server] connection from ${c.remote} on ${c.path}`));
await server.start();
// One JSON line on stdout tells a supervising process (or a test) where we listen.
console.log(JSON.stringify({ address: server.address, pid: process.pid }));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void server.close({ graceMs: 2000 }).then(() => process.exit(0));
  });
}
