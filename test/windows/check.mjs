// Linux side of scripts/ci-windows.sh: reads the reports the Windows (Wine) runs wrote into
// argv[2] and checks them. Prints one line per check; exits 1 if any failed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
let failed = 0;
const read = (name) => {
  try {
    return JSON.parse(readFileSync(join(dir, name), 'utf8'));
  } catch (err) {
    return { missing: `${name}: ${err.message}` };
  }
};
const check = (ok, what, detail) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok || detail === undefined ? '' : `: ${JSON.stringify(detail).slice(0, 600)}`}`);
  if (!ok) failed++;
};

const addon = read('addon.json');
check(addon.platform === 'win32' && addon.nativeStatus?.loaded === true, 'the Windows addon loads in node.exe', addon);
check(addon.probe?.fastPath?.attempted === true, 'SIO_LOOPBACK_FAST_PATH is attempted', addon.probe);
check(addon.probe?.fastPath?.enabled === true || addon.probe?.fastPath?.code === 'WSAEOPNOTSUPP', 'the ioctl works or answers WSAEOPNOTSUPP', addon.probe);
check(addon.probe?.fastPath?.enabled === true || /WSAEOPNOTSUPP \(10045\)/.test(addon.tcpFastPathUnavailable ?? ''), 'a refused ioctl makes tcp-fastpath unavailable, with the reason', addon.tcpFastPathUnavailable);
check(addon.echo?.equal === true && addon.echo?.bytes === 262144, 'the addon Winsock sockets echo 256 KiB (IOCP, fast path or its fallback)', addon.echo ?? addon.error);
check(addon.echo?.io?.io === 'iocp' && /WSAID_MULTIPLE_RIO lookup failed with WSAEOPNOTSUPP/.test(addon.echo?.io?.reason ?? ''), 'without a RIO table the sockets use IOCP and say why', addon.echo?.io);
check(addon.fakeRio === true, 'the fake RIO stack can be switched on (rioUseFakeForTest)', addon.fakeRio);
for (const mode of ['inline', 'worker', 'adaptive']) {
  const r = addon.rio?.[mode];
  check(r?.io?.io === 'rio' && r?.io?.fake === true && r?.serverIo?.io === 'rio', `fake RIO, ${mode}: both ends (connect and own accept) use RIO`, r ?? addon.error);
  check(r?.equal === true && r?.bytes === 262144, `fake RIO, ${mode}: 256 KiB echoed intact through registered buffers`, r ?? addon.error);
  check(r?.clientPendingAfterWrite > 0 && r?.drains >= 1, `fake RIO, ${mode}: writes beyond the send slots queue and DRAIN follows`, r);
  check(r?.serverClose === 'clean', `fake RIO, ${mode}: close sends the FIN and the peer closes cleanly`, r);
}
check(addon.hostIdentity?.source === 'windows machine GUID', 'core derives the host identity from the machine GUID', addon.hostIdentity);

const fp = read('client-fastpath-only.json');
check(fp.ok === true && fp.path === 'tcp', 'Wine<->Wine RPC with only tcp-fastpath allowed stays on tcp', fp);
check(/tcp-fastpath: SIO_LOOPBACK_FAST_PATH refused .*WSAEOPNOTSUPP/.test(fp.pathInfo?.reason ?? ''), 'its path reason names the refused ioctl', fp.pathInfo);
const shm = read('client-auto.json');
check(shm.ok === true && shm.path === 'shm', 'Wine<->Wine RPC upgrades to shm and carries 200 calls', shm);
const off = read('client-off.json');
check(off.ok === true && off.path === 'tcp', 'Wine<->Wine RPC over TCP loopback (fastPath off): 200 calls', off);
const uds = read('client-uds.json');
check(uds.ok === true && uds.path === 'uds', 'Wine<->Wine RPC on the uds tier (a named pipe): 200 calls', uds);
const lin = read('client-linux.json');
check(lin.ok === true && lin.platform === 'linux' && lin.path === 'tcp', 'Linux->Wine RPC over TCP loopback: 200 calls', lin);
const rev = read('client-wine-to-linux.json');
check(rev.ok === true && rev.platform === 'win32' && rev.path === 'tcp', 'Wine->Linux RPC over TCP loopback: 200 calls', rev);
const server = read('server.json');
check(server.calls >= 1000, 'the Wine server answered every call', server);

const rio = readFileSync(join(dir, 'rio.txt'), 'utf8');
check(/^PASS: \d+ checks, 0 failed/m.test(rio), 'RIO seam unit tests (rio-queue-test.exe)', rio.split('\n').filter((l) => !l.startsWith('ok')).join('\n'));

const doctor = readFileSync(join(dir, 'doctor.txt'), 'utf8');
check(/tcp-fastpath\s+unavailable\s+SIO_LOOPBACK_FAST_PATH refused/.test(doctor) || /tcp-fastpath\s+available/.test(doctor), 'fastpath doctor under Wine reports tcp-fastpath and why not', doctor);
check(/shm\s+available/.test(doctor) && /uds\s+available/.test(doctor), 'fastpath doctor under Wine reports shm and uds available', doctor);

console.log(failed === 0 ? 'windows: all checks passed' : `windows: ${failed} check(s) failed`);
process.exit(failed === 0 ? 0 : 1);
