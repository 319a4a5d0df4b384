// Run by node.exe under Wine (scripts/ci-windows.sh), or on Windows. Writes a JSON report to
// argv[2]: whether the addon loaded, what the fast-path ioctl and the RIO lookup answered, what
// the tcp-fastpath tier reports, and a round trip over the addon's own Winsock sockets (which take
// the plain-Winsock fallback when the ioctl is refused). node.exe under Wine cannot write to a
// Unix pipe, hence the file.
import { writeFileSync } from 'node:fs';
import { hostIdentity } from '../../packages/core/dist/index.js';
import * as native from '../../packages/native/dist/index.js';

const out = argvFile();
const report = { platform: process.platform, node: process.version, nativeStatus: native.nativeStatus };

function argvFile() {
  if (!process.argv[2]) throw new Error('usage: wine-addon.mjs <report.json>');
  return process.argv[2];
}

async function roundTrip() {
  let serverConn;
  const server = native.listenTcpFastPath((conn) => {
    serverConn = conn;
    conn.onData = (chunk) => conn.write(chunk); // echo
  });
  const client = await native.connectTcpFastPath(server.port);
  const sent = Buffer.alloc(256 * 1024);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 7) & 255;
  const got = [];
  let n = 0;
  const done = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`echo timed out with ${n} of ${sent.length} bytes`)), 10_000);
    client.onData = (chunk) => {
      got.push(Buffer.from(chunk));
      n += chunk.length;
      if (n >= sent.length) {
        clearTimeout(t);
        resolve();
      }
    };
  });
  client.write(sent.subarray(0, 100));
  client.write(sent.subarray(100));
  await done;
  const closed = new Promise((resolve) => (serverConn.onClose = resolve));
  client.close();
  await closed;
  server.close();
  return {
    port: server.port,
    bytes: n,
    equal: Buffer.concat(got).equals(sent),
    listenerFastPath: server.fastPath,
    clientFastPath: client.fastPath,
    tier: client.tier,
    remote: client.remote,
  };
}

try {
  report.probe = native.probeLoopbackFastPath();
  report.tcpFastPathUnavailable = native.tcpFastPathUnavailableReason() ?? null;
  report.hostIdentity = hostIdentity();
  report.echo = await roundTrip();
  report.ok = true;
} catch (err) {
  report.ok = false;
  report.error = String(err?.stack ?? err);
}
writeFileSync(out, JSON.stringify(report, null, 2));
process.exit(0);
