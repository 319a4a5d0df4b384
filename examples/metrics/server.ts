// Usage: server.ts [listen-url] [metrics-port]
// A Calc server whose metrics Prometheus scrapes at http://127.0.0.1:<metrics-port>/metrics.
import { createServer } from 'node:http';
import { FastpathError, Server } from '@fastpath/core';
import { fastpathRegistry } from './prometheus.js';

const server = new Server({ listen: process.argv[2] ?? 'tcp://127.0.0.1:7000' });
server.handle('Calc.add', ({ a, b }: { a: number; b: number }) => ({ sum: a + b }));
server.handle('Calc.divide', ({ a, b }: { a: number; b: number }) => {
  if (b === 0) throw new FastpathError('INVALID_ARGUMENT', 'division by zero');
  return { quotient: a / b };
});
await server.start();

const registry = fastpathRegistry(server);
const http = createServer((req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  registry.metrics().then(
    (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
    (err: Error) => res.writeHead(500).end(err.message),
  );
});
await new Promise<void>((resolve) => http.listen(Number(process.argv[3] ?? 9464), '127.0.0.1', resolve));
const port = (http.address() as { port: number }).port;
console.log(JSON.stringify({ address: server.address, metrics: `http://127.0.0.1:${port}/metrics`, pid: process.pid }));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    http.close();
    void server.close({ graceMs: 1000 }).then(() => process.exit(0));
  });
}
