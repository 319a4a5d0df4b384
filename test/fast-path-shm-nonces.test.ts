// Forged or replayed nonces on an shm offer, under a full fastpath Server: a raw peer attaches to
// the offered segment and proves the wrong nonce; the connection stays on tcp.
// The other shm tier suites are test/fast-path-shm-*.test.ts.
import {
  buildFrame,
  decode,
  encode,
  FastpathError,
  FrameType,
  hostIdentity,
  Status,
  type Connection,
  type PathInfo,
} from '@fastpath/core';
import { attachShm } from '@fastpath/native';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordShmNames } from './fixtures/shm-control.js';
import { closeAll, closers } from './helpers/closers.js';
import { RawPeer } from './helpers/raw-peer.js';
import { FrameChannel } from './reliability/lib/frame-channel.js';
import { shmOk, startServer } from './helpers/shm-setup.js';
import { until } from './helpers/util.js';

const uid = process.getuid?.() ?? -1;

afterEach(closeAll);

// As in every shm test file, the shm tier is wrapped to record the names it uses (the kill -9
// tests read them).
beforeAll(async () => {
  await recordShmNames();
});

/** Frames a peer receives on a raw shm Connection; the channel is closed after the test. */
function channelPeer(conn: Connection): FrameChannel {
  const peer = FrameChannel.fromConnection(conn);
  closers.push(() => peer.destroy());
  return peer;
}

describe.skipIf(!shmOk)('shm tier: forged and replayed nonces', () => {
  const localHello = { fastPath: { mode: 'auto', host: hostIdentity().id, uid, tiers: ['shm'] } };
  type Offer = { tier: string; nonce: Buffer; params: { shm: string; dir: string } };

  async function offered(address: string): Promise<{ raw: RawPeer; offer: Offer }> {
    const raw = await RawPeer.connect(address);
    closers.push(() => raw.destroy());
    raw.hello(localHello);
    expect((decode((await raw.next(FrameType.WELCOME)).body) as { fastPath: unknown }).fastPath).toEqual({ offer: true, tier: 'shm' });
    const offer = decode((await raw.next(FrameType.UPGRADE)).body) as Offer;
    expect(offer.tier).toBe('shm');
    expect(offer.nonce.length).toBe(16);
    return { raw, offer };
  }

  async function callOverTcp(raw: RawPeer, id: number): Promise<void> {
    raw.write(buildFrame(FrameType.REQUEST, 0, id, encode(['Calc.add', null, null, { a: id, b: 1 }])));
    expect(decode((await raw.next(FrameType.RESPONSE)).body)).toEqual({ sum: id + 1 });
  }

  async function refused(conn: Connection, nonce: Uint8Array): Promise<void> {
    const peer = channelPeer(conn);
    conn.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ attach: nonce })));
    const g = decode((await peer.next(FrameType.GOAWAY)).body) as [number, string];
    expect(g[0]).toBe(Status.PERMISSION_DENIED);
    expect(g[1]).toBe('upgrade refused: unknown, expired or already used nonce');
    await peer.waitClosed();
  }

  it('refuses a wrong nonce and a replayed one on an shm channel; those connections stay on tcp', async () => {
    const errors: FastpathError[] = [];
    const paths: PathInfo[] = [];
    const server = await startServer({ tiers: ['shm'], upgradeTimeoutMs: 1000 });
    server.on('error', (e) => errors.push(e));
    server.on('path', (p) => paths.push(p));

    // A: attach to A's segment, but prove a made-up nonce.
    const a = await offered(server.address);
    await refused(attachShm(a.offer.params), Buffer.alloc(16, 7));
    expect(errors.map((e) => e.code)).toEqual(['PERMISSION_DENIED']);
    expect(errors[0]!.message).toBe('upgrade refused: unknown, expired or already used nonce');
    await callOverTcp(a.raw, 1); // A still works, on tcp
    // The segment was unlinked by that attach: the token cannot be used twice.
    expect(() => attachShm(a.offer.params)).toThrow(expect.objectContaining({ name: 'ShmError', code: 'ENOENT' }));

    // B: a real client: attach, prove B's nonce, switch; calls then go over shared memory.
    const b = await offered(server.address);
    const bConn = attachShm(b.offer.params);
    const bPeer = channelPeer(bConn);
    bConn.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ attach: b.offer.nonce })));
    expect(decode((await b.raw.next(FrameType.UPGRADE_ACK)).body)).toEqual({ switch: true });
    b.raw.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ switch: true })));
    bConn.write(buildFrame(FrameType.REQUEST, 0, 1, encode(['Calc.add', null, null, { a: 20, b: 1 }])));
    expect(decode((await bPeer.next(FrameType.RESPONSE)).body)).toEqual({ sum: 21 });

    // C: attach to C's own segment, but replay B's nonce, which is used up.
    const c = await offered(server.address);
    await refused(attachShm(c.offer.params), b.offer.nonce);
    expect(errors.map((e) => e.code)).toEqual(['PERMISSION_DENIED', 'PERMISSION_DENIED']);
    await callOverTcp(c.raw, 2); // C still works, on tcp

    // A and C's offers expire (upgradeTimeoutMs): they stay on tcp, with the reason; B is on shm.
    await until(() => paths.length === 3, 5000, 'three path events');
    expect(paths).toContainEqual({ path: 'shm' });
    expect(paths.filter((p) => p.path === 'tcp')).toEqual([
      { path: 'tcp', reason: 'attach failed: the client did not attach in time' },
      { path: 'tcp', reason: 'attach failed: the client did not attach in time' },
    ]);
    expect(server.connections().map((x) => x.path).sort()).toEqual(['shm', 'tcp', 'tcp']);
    await callOverTcp(a.raw, 3);
    await callOverTcp(c.raw, 4);
  });
});
