// A hand-driven peer on any byte channel (a socket, or an shm Connection): writes whatever bytes
// it is told to and records every frame the other side sends, like test/helpers/raw-peer.ts but
// for every tier, including the channel a raw peer reaches through a fast-path upgrade.
import net from 'node:net';
import tls from 'node:tls';
import { buildFrame, decode, encode, FrameParser, FrameType, hostIdentity, parseAddress, type Connection } from '@fastpath/core';
import { attachShm, type ShmMode } from '@fastpath/native';
import type { TransportCase } from '../../helpers/matrix.js';

export interface RawFrame {
  type: number;
  flags: number;
  id: number;
  body: Buffer;
}

/** The minimal byte channel: a net.Socket or a core Connection. */
interface ByteChannel {
  write(b: Uint8Array): void;
  destroy(): void;
}

export class FrameChannel {
  readonly frames: RawFrame[] = [];
  closed = false;
  /** The peer sent something that is not a frame (never expected from a fastpath server). */
  garbage = false;
  private waiters: Array<() => void> = [];
  private readonly parser = new FrameParser((type, flags, id, body) => {
    this.frames.push({ type, flags, id, body: Buffer.from(body) });
    this.wake();
  }, 64 * 1024 * 1024);

  /** The socket, for a channel over one (to pause reading, as a slow consumer does). */
  socket: net.Socket | undefined;

  private pauseFn: () => void = () => {};

  private constructor(private readonly ch: ByteChannel) {}

  /** Stops reading, as a slow consumer does: the bytes stay with the sender (socket buffers, the ring). */
  pause(): void {
    this.pauseFn();
  }

  private onBytes(chunk: Uint8Array): void {
    try {
      this.parser.push(chunk);
    } catch {
      this.garbage = true;
      this.ch.destroy();
    }
  }

  private onClosed(): void {
    this.closed = true;
    this.wake();
  }

  static fromSocket(socket: net.Socket): FrameChannel {
    const c = new FrameChannel({ write: (b) => socket.write(b), destroy: () => socket.destroy() });
    c.socket = socket;
    c.pauseFn = () => socket.pause();
    socket.on('data', (d) => c.onBytes(d));
    socket.on('error', () => {});
    socket.on('close', () => c.onClosed());
    return c;
  }

  static fromConnection(conn: Connection): FrameChannel {
    const c = new FrameChannel({ write: (b) => conn.write(b), destroy: () => conn.destroy() });
    conn.onData = (d) => c.onBytes(d);
    conn.onClose = () => c.onClosed();
    c.pauseFn = () => {
      conn.onData = null;
    };
    return c;
  }

  /**
   * Connects a socket to a tcp://, tls:// or unix: address. A tls:// peer does the TLS handshake
   * (trusting `tlsOptions.ca` if given, the server's certificate is not checked: a hostile peer
   * does not care who the server is) and then speaks raw frames inside it.
   */
  static connect(url: string, tlsOptions: { ca?: unknown } = {}): Promise<FrameChannel> {
    const a = parseAddress(url) as { scheme: string; host?: string; port?: number; path?: string };
    return new Promise((resolve, reject) => {
      const s =
        a.scheme === 'unix'
          ? net.connect({ path: a.path! })
          : a.scheme === 'tls'
            ? tls.connect({ host: a.host!, port: a.port!, ...(tlsOptions as tls.ConnectionOptions), rejectUnauthorized: false })
            : net.connect({ host: a.host!, port: a.port! });
      s.once(a.scheme === 'tls' ? 'secureConnect' : 'connect', () => resolve(FrameChannel.fromSocket(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async wait(timeoutMs: number, done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  write(bytes: Uint8Array): void {
    if (!this.closed) this.ch.write(bytes);
  }

  hello(extra: Record<string, unknown> = {}): void {
    this.write(buildFrame(FrameType.HELLO, 0, 0, encode({ proto: 'fastpath', versions: [1], agent: 'raw', caps: [], maxFrameBytes: 1 << 20, ...extra })));
  }

  /** Takes the first frame of `type` (any type if undefined); throws on close or timeout. */
  async next(type?: number, timeoutMs = 5000): Promise<RawFrame> {
    let found: RawFrame | undefined;
    await this.wait(
      timeoutMs,
      () => {
        const i = this.frames.findIndex((f) => type === undefined || f.type === type);
        if (i >= 0) found = this.frames.splice(i, 1)[0];
        if (!found && this.closed) throw new Error(`channel closed before frame type ${type}`);
        return found !== undefined;
      },
      `frame type ${type}`,
    );
    return found!;
  }

  /** Resolves true once a frame matching `match` arrived, false when the channel closed or time ran out. */
  async seen(match: (f: RawFrame) => boolean, timeoutMs: number): Promise<boolean> {
    try {
      await this.wait(timeoutMs, () => this.frames.some(match) || this.closed, 'a frame');
    } catch {
      return false;
    }
    return this.frames.some(match);
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.wait(timeoutMs, () => this.closed, 'the channel to close');
  }

  destroy(): void {
    this.ch.destroy();
  }
}

/** HELLO fields of a same-host, same-user client asking for `tier`. */
export function localFastPathHello(tier: string): Record<string, unknown> {
  return { fastPath: { mode: 'auto', host: hostIdentity().id, uid: process.getuid?.() ?? -1, tiers: [tier] } };
}

export interface UpgradeOfferFrame {
  tier: string;
  nonce: Buffer;
  params: Record<string, unknown>;
}

/** Sends a fast-path HELLO on `raw` and returns the server's offer (WELCOME, then UPGRADE). */
export async function askForOffer(raw: FrameChannel, tier: string): Promise<UpgradeOfferFrame> {
  raw.hello(localFastPathHello(tier));
  const welcome = decode((await raw.next(FrameType.WELCOME)).body) as { fastPath?: { offer?: boolean; reason?: string } };
  if (welcome.fastPath?.offer !== true) throw new Error(`no ${tier} offer: ${welcome.fastPath?.reason}`);
  return decode((await raw.next(FrameType.UPGRADE)).body) as UpgradeOfferFrame;
}

/** The tier a matrix case reaches by upgrading, or undefined for a plain transport. */
export function upgradedTier(tc: TransportCase): 'uds' | 'shm' | undefined {
  return tc.client?.fastPath === 'require' ? (tc.path as 'uds' | 'shm') : undefined;
}

/**
 * A raw channel to a server on a matrix case's tier: a socket for the plain transports (after a
 * HELLO when `hello`), or, for the upgraded tiers, the uds or shm channel of an upgrade this peer
 * negotiates itself (HELLO, offer, attach with the nonce, switch): frames written to it are read
 * by the server's session as a client's. `others` are the channels to close with it.
 */
export async function openRawChannel(tc: TransportCase, address: string, hello: boolean): Promise<{ ch: FrameChannel; others: FrameChannel[] }> {
  const tier = upgradedTier(tc);
  if (!tier) {
    const ch = await FrameChannel.connect(address, (tc.client as { tls?: { ca?: unknown } } | undefined)?.tls);
    if (hello) ch.hello();
    return { ch, others: [] };
  }
  const raw = await FrameChannel.connect(address);
  const offer = await askForOffer(raw, tier);
  const mode = (tc.client?.shm as { mode?: ShmMode } | undefined)?.mode ?? 'worker';
  const ch = tier === 'uds' ? await FrameChannel.connect(`unix:${String(offer.params.path)}`) : FrameChannel.fromConnection(attachShm(offer.params, { mode }));
  ch.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ attach: offer.nonce })));
  const ack = decode((await raw.next(FrameType.UPGRADE_ACK)).body) as { switch?: boolean };
  if (ack.switch !== true) throw new Error(`the server did not switch: ${JSON.stringify(ack)}`);
  raw.write(buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode({ switch: true })));
  return { ch, others: [raw] };
}
