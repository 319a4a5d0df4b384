// An RPC client for the Windows runs. Connects to argv[2] (a tcp:// address), with the fast path
// as argv[4] says ('auto', 'off', or 'tcp-fastpath': only that tier may be negotiated, so the
// reason it is unavailable shows in pathInfo), makes 200 calls (adds and 32 KiB echoes), and writes to
// argv[3] the tier it ended on, every `path` event (with its reason) and the results.
import { writeFileSync } from 'node:fs';
import { connect } from '../../packages/core/dist/index.js';

const [address, reportFile, fastPath = 'auto'] = process.argv.slice(2);
// 'uds': only the uds tier (a named pipe on Windows).
const only = fastPath === 'tcp-fastpath' || fastPath === 'uds' ? fastPath : undefined;
const report = { platform: process.platform, paths: [], ok: false };
try {
  const options = only ? { tiers: [only] } : { fastPath };
  const client = await connect(address, options);
  client.on('path', (info) => report.paths.push(info));
  // The upgrade, when there is one, happens right after the handshake: wait for it to settle.
  for (let i = 0; i < 100 && client.path !== 'shm' && client.path !== 'uds' && report.paths.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  let good = 0;
  const blob = Buffer.alloc(32 * 1024, 7);
  for (let i = 0; i < 200; i++) {
    if (i % 10 === 0) {
      const r = await client.call('T.echo', { blob }, { deadline: 5000 });
      if (Buffer.from(r.blob).equals(blob)) good++;
    } else {
      const r = await client.call('T.add', { a: i, b: 1 }, { deadline: 5000 });
      if (r.sum === i + 1) good++;
    }
  }
  report.path = client.path;
  report.pathInfo = client.pathInfo;
  report.good = good;
  report.ok = good === 200;
  await client.close();
} catch (err) {
  report.error = String(err?.stack ?? err);
}
writeFileSync(reportFile, JSON.stringify(report, null, 2));
process.exit(0);
