// Run by node.exe under Wine (scripts/ci-windows.sh), or on Windows. Writes a JSON report to
// argv[2]: whether the addon loaded, what the fast-path ioctl and the RIO lookup answered, what
// the tcp-fastpath tier reports, and a round trip over the addon's own Winsock sockets (which take
// the plain-Winsock fallback when the ioctl is refused). Then the same echo again with the addon's
// fake RIO stack switched on (useFakeRioForTest: Wine has no RIO), in each completion mode, so
// that the RIO data path of tcp-fastpath-socket.cc and -listener.cc (own accept, registered buffers, request queues,
// polled and notified completion queues, back-pressure, FIN and close) carries real traffic.
// node.exe under Wine cannot write to a Unix pipe, hence the file.
import { writeFileSync } from 'node:fs';
import { hostIdentity } from '../../packages/core/dist/index.js';
import * as native from '../../packages/native/dist/index.js';

const out = argvFile();
const report = { platform: process.platform, node: process.version, nativeStatus: native.nativeStatus };

function argvFile() {
  if (!process.argv[2]) throw new Error('usage: wine-addon.mjs <report.json>');
  return process.argv[2];
}

async function roundTrip(mode) {
  let serverConn;
  let maxPending = 0;
  const server = native.listenTcpFastPath(
    (conn) => {
      serverConn = conn;
      conn.onData = (chunk) => {
        conn.write(chunk); // echo
        maxPending = Math.max(maxPending, conn.pendingBytes);
      };
    },
    { mode },
  );
  const client = await native.connectTcpFastPath(server.port, 2000, { mode });
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
  let drains = 0;
  client.onDrain = () => drains++;
  client.write(sent.subarray(0, 100));
  client.write(sent.subarray(100));
  const clientPendingAfterWrite = client.pendingBytes;
  await done;
  const closed = new Promise((resolve) => (serverConn.onClose = (err) => resolve(err ? String(err) : 'clean')));
  client.close();
  const serverClose = await closed;
  server.close();
  return {
    mode,
    io: client.io,
    serverIo: serverConn.io,
    clientPendingAfterWrite,
    drains,
    maxServerPending: maxPending,
    serverClose,
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
  report.fakeRio = native.useFakeRioForTest();
  report.rio = {};
  for (const mode of ['inline', 'worker', 'adaptive']) report.rio[mode] = await roundTrip(mode);
  report.ok = true;
} catch (err) {
  report.ok = false;
  report.error = String(err?.stack ?? err);
}
writeFileSync(out, JSON.stringify(report, null, 2));
process.exit(0);
