// An RPC server for the Windows runs: node.exe under Wine (or Linux node). Listens on
// tcp://127.0.0.1:0, writes {address} to argv[2] once up, answers T.echo and T.add, and records
// the tier of every connection in argv[3] (JSON, rewritten on each change) until argv[4] appears
// or 60 s pass. Files, because node.exe under Wine cannot write to a Unix pipe.
import { existsSync, writeFileSync } from 'node:fs';
import { Server } from '../../packages/core/dist/index.js';

const [addrFile, reportFile, stopFile] = process.argv.slice(2);
const report = { paths: [], calls: 0, pid: process.pid };
const server = new Server({ listen: 'tcp://127.0.0.1:0' });
server.handle('T.add', ({ a, b }) => {
  report.calls++;
  return { sum: a + b };
});
server.handle('T.echo', (req) => {
  report.calls++;
  return req;
});
server.on('path', (info) => {
  report.paths.push(info);
  writeFileSync(reportFile, JSON.stringify(report));
});
await server.start();
writeFileSync(reportFile, JSON.stringify(report));
writeFileSync(addrFile, JSON.stringify({ address: server.address }));
const started = Date.now();
const timer = setInterval(async () => {
  if (!existsSync(stopFile) && Date.now() - started < 60_000) return;
  clearInterval(timer);
  writeFileSync(reportFile, JSON.stringify(report));
  await server.close();
  process.exit(0);
}, 100);
