// Usage: server.ts [listen-url]   (default tcp://0.0.0.0:7000: every interface, so other machines can reach it)
// The hello example's Greeter, served for clients on this host and on others. The code is the same
// either way: only the address a client dials changes, and the fast path decides the tier itself.
import { FastpathError, Server } from '@fastpath/core';
import { registerGreeter } from '../hello/generated/greeter.js';

const listen = process.argv[2] ?? 'tcp://0.0.0.0:7000';
const server = new Server({ listen });

registerGreeter(server, {
  hello: ({ name }) => {
    if (name.length === 0) throw new FastpathError('INVALID_ARGUMENT', 'name is required');
    return { greeting: `Hello, ${name}!`, servedBy: process.pid };
  },
  add: ({ a, b }) => ({ sum: a + b }),
});

// Each connection settles on a tier: `tcp` with reason 'remote peer' for another machine (or
// container, or network namespace); `shm` or `uds` for a client on this host.
server.on('path', (info, c) => console.error(`[server] ${c.remote}: path ${info.path}${info.reason ? ` (${info.reason})` : ''}`));
await server.start();
console.log(JSON.stringify({ address: server.address, pid: process.pid }));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void server.close({ graceMs: 2000 }).then(() => process.exit(0));
  });
}
