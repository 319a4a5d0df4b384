// Issue 9, hostile local peers. A server (this process, root) has open fast-path offers: a uds
// attach socket and an shm segment with its doorbells, live and waiting for their clients. A
// process running as another user (nobody, uid 65534) then tries every way in: open or map the
// segment, ring or list the doorbells, connect to the attach socket or the server's unix socket,
// read the server's maps, descriptors or memory, and lie about its uid in HELLO to be offered an
// upgrade. Every attempt must be refused by the OS; the honest way in (TCP, as any remote peer)
// works and stays on tcp. The offers are then completed by their rightful clients, unharmed, and
// forged and replayed nonces are refused on both tiers.
//
// Needs root (to start a process as nobody); skipped with the reason otherwise.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { buildFrame, decode, encode, FrameType, Server, Status } from '@fastpath/core';
import { attachShm, nativeStatus } from '@fastpath/native';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, socketPath } from '../helpers/matrix.js';
import { repoRoot, TS_NODE_ARGS } from '../helpers/spawn.js';
import { newStats, registerRel } from './fixtures/rel-service.js';
import { askForOffer, FrameChannel, type UpgradeOfferFrame } from './lib/frame-channel.js';
import { isRoot } from './lib/sys.js';

const NOBODY = 65534;
const skipReason = !isRoot ? 'needs root to start a process as another user (nobody)' : !nativeStatus.loaded ? `native addon not loaded (${nativeStatus.reason})` : undefined;
if (skipReason) console.log(`hostile local peers: skipped: ${skipReason}`);

const closers: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  cleanupSocketDirs();
});

interface Probe {
  ok: boolean;
  code?: string;
  detail?: unknown;
}

function runIntruder(args: Record<string, unknown>): Promise<{ uid: number; probes: Record<string, Probe>; tcp: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TS_NODE_ARGS, 'test/reliability/fixtures/intruder.ts', JSON.stringify(args)], {
      cwd: repoRoot,
      uid: NOBODY,
      gid: NOBODY,
      env: { ...process.env, HOME: '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    closers.push(() => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(t);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch {
        reject(new Error(`the intruder exited ${code}: ${err}${out}`));
      }
    });
  });
}

/** Completes an upgrade as the rightful client: attach on `ch`, prove the nonce, switch, call. */
async function completeUpgrade(raw: FrameChannel, ch: FrameChannel, offer: UpgradeOfferFrame): Promise<void> {
  ch.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ attach: offer.nonce })));
  expect(decode((await raw.next(FrameType.UPGRADE_ACK)).body)).toEqual({ switch: true });
  raw.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ switch: true })));
  ch.write(buildFrame(FrameType.REQUEST, 0, 1, encode(['Rel.add', null, null, { a: 40, b: 2 }])));
  expect(decode((await ch.next(FrameType.RESPONSE)).body)).toEqual({ sum: 42 });
}

/** Presents `nonce` on a fresh attach channel: it must be refused with PERMISSION_DENIED. */
async function refused(ch: FrameChannel, nonce: Uint8Array): Promise<void> {
  ch.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ attach: nonce })));
  const g = decode((await ch.next(FrameType.GOAWAY)).body) as [number, string];
  expect(g[0]).toBe(Status.PERMISSION_DENIED);
  expect(g[1]).toMatch(/upgrade refused/);
  await ch.waitClosed();
}

describe.skipIf(skipReason !== undefined)('hostile local peers', () => {
  it('a process of another user cannot reach the shm segment, the doorbells, the attach socket or the unix socket, even when it lies in HELLO', async () => {
    const unix = `unix:${socketPath()}`;
    const server = new Server({ listen: ['tcp://127.0.0.1:0', unix], tiers: ['shm', 'uds'], upgradeTimeoutMs: 30_000 });
    registerRel(server, newStats());
    await server.start();
    closers.push(() => server.close({ graceMs: 50 }));
    const [tcp] = server.addresses;

    // Two offers, left open: a uds attach socket and an shm segment with its doorbells.
    const rawUds = await FrameChannel.connect(tcp!);
    const rawShm = await FrameChannel.connect(tcp!);
    closers.push(() => rawUds.destroy(), () => rawShm.destroy());
    const udsOffer = await askForOffer(rawUds, 'uds');
    const shmOffer = await askForOffer(rawShm, 'shm');
    const shmSegment = String(shmOffer.params.shm).slice(1);

    const r = await runIntruder({ serverPid: process.pid, tcp, unix, udsAttach: udsOffer.params.path, shm: shmOffer.params, shmSegment });
    if (process.env.FASTPATH_TEST_VERBOSE === '1') console.log(JSON.stringify(r, null, 1));
    expect(r.uid).toBe(NOBODY);
    const denied = ['EACCES', 'EPERM'];
    for (const [name, p] of Object.entries(r.probes)) {
      expect(p.ok, `${name} must be refused: ${JSON.stringify(p)}`).toBe(false);
      expect(denied, `${name}: ${JSON.stringify(p)}`).toContain(p.code);
    }
    expect(Object.keys(r.probes).sort()).toEqual(
      [
        'attachShm',
        'connectUdsAttachSocket',
        'connectUnixListenSocket',
        'listDoorbellDir',
        'listServerFds',
        'listServerMapFiles',
        'lyingHello',
        'openShmReadOnly',
        'openShmReadWrite',
        'readServerMaps',
        'readServerMemory',
        'ringDoorbell0',
        'ringDoorbell1',
      ].sort(),
    );
    // Over TCP it is a remote peer like any other: served, on tcp, and told why.
    expect(r.tcp).toMatchObject({ path: 'tcp', sum: { sum: 3 } });
    expect(String(r.tcp.reason)).toMatch(/another user/);

    // The rightful clients complete both upgrades: nothing the intruder did burnt an offer.
    const udsChannel = await FrameChannel.connect(`unix:${udsOffer.params.path}`);
    closers.push(() => udsChannel.destroy());
    await completeUpgrade(rawUds, udsChannel, udsOffer);
    const shmChannel = FrameChannel.fromConnection(attachShm(shmOffer.params));
    closers.push(() => shmChannel.destroy());
    await completeUpgrade(rawShm, shmChannel, shmOffer);
    expect(server.connections().map((c) => c.path).sort()).toEqual(['shm', 'uds']);
  });

  it('forged and replayed nonces are refused on the uds and shm tiers; the offers survive them', async () => {
    const refusals: string[] = [];
    const server = new Server({ listen: 'tcp://127.0.0.1:0', tiers: ['shm', 'uds'], upgradeTimeoutMs: 30_000 });
    registerRel(server, newStats());
    server.on('error', (e) => refusals.push(String(e.details?.reason)));
    await server.start();
    closers.push(() => server.close({ graceMs: 50 }));

    // uds: 20 forged nonces (random, wrong length, empty) before the rightful attach, a replay after.
    const raw = await FrameChannel.connect(server.address);
    closers.push(() => raw.destroy());
    const offer = await askForOffer(raw, 'uds');
    const forged = [...Array.from({ length: 17 }, () => randomBytes(16)), randomBytes(15), randomBytes(32), Buffer.alloc(0)];
    for (const nonce of forged) await refused(await FrameChannel.connect(`unix:${offer.params.path}`), nonce);
    const good = await FrameChannel.connect(`unix:${offer.params.path}`);
    closers.push(() => good.destroy());
    await completeUpgrade(raw, good, offer);
    await refused(await FrameChannel.connect(`unix:${offer.params.path}`), offer.nonce);
    expect(refusals).toEqual(Array.from({ length: forged.length + 1 }, () => 'attach-refused'));

    // shm: the rightful attach, then its nonce replayed on another offer's segment, and a forged one.
    const a = await FrameChannel.connect(server.address);
    const b = await FrameChannel.connect(server.address);
    const c = await FrameChannel.connect(server.address);
    closers.push(() => a.destroy(), () => b.destroy(), () => c.destroy());
    const offerA = await askForOffer(a, 'shm');
    const offerB = await askForOffer(b, 'shm');
    const offerC = await askForOffer(c, 'shm');
    const chA = FrameChannel.fromConnection(attachShm(offerA.params));
    closers.push(() => chA.destroy());
    await completeUpgrade(a, chA, offerA);
    await refused(FrameChannel.fromConnection(attachShm(offerB.params)), offerA.nonce);
    await refused(FrameChannel.fromConnection(attachShm(offerC.params)), randomBytes(16));
    // B and C stay on tcp (their segments were used by the refused attaches and are gone), and work.
    for (const [i, ch] of [b, c].entries()) {
      ch.write(buildFrame(FrameType.REQUEST, 0, 10 + i, encode(['Rel.add', null, null, { a: i, b: 1 }])));
      expect(decode((await ch.next(FrameType.RESPONSE)).body)).toEqual({ sum: i + 1 });
    }
    expect(server.connections().filter((x) => x.path === 'shm')).toHaveLength(1);
  });
});
