// Usage: server.ts [listen-url]   (default tcp://127.0.0.1:7000)
// Implements the Greeter contract through the stubs `npm run gen` writes to ./generated.
import { FastpathError, Server } from '@fastpath/core';
import { registerGreeter } from './generated/greeter.js';

const listen = process.argv[2] ?? 'tcp://127.0.0.1:7000';
const server = new Server({ listen });

// Requests are validated against the contract before these run: `name` is a string here.
registerGreeter(server, {
  hello: ({ name }) => {
    if (name.length === 0) throw new FastpathError('INVALID_ARGUMENT', 'name is required');
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
