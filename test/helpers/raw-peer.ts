import net from 'node:net';
import tls from 'node:tls';
import { buildFrame, encode, FrameParser, FrameType, parseAddress } from '@fastpath/core';

export interface RawFrame {
  type: number;
  flags: number;
  id: number;
  body: Buffer;
}

/**
 * A hand-driven peer on a real socket, for hostile-input and protocol tests: it writes whatever
 * bytes it is told to and records every frame the other side sends.
 */
export class RawPeer {
  readonly frames: RawFrame[] = [];
  closed = false;
  private waiters: Array<() => void> = [];
  private readonly parser = new FrameParser((type, flags, id, body) => {
    this.frames.push({ type, flags, id, body: Buffer.from(body) });
    this.wake();
  }, 64 * 1024 * 1024);

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c) => {
      try {
        this.parser.push(c);
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(url: string): Promise<RawPeer> {
    const a = parseAddress(url) as { scheme: string; host?: string; port?: number; path?: string };
    return new Promise((resolve, reject) => {
      // A tls:// server gets a TLS client that trusts anything: the raw peer tests the protocol, not TLS.
      const s =
        a.scheme === 'unix'
          ? net.connect({ path: a.path! })
          : a.scheme === 'tls'
            ? tls.connect({ host: a.host!, port: a.port!, rejectUnauthorized: false })
            : net.connect({ host: a.host!, port: a.port! });
      s.once(a.scheme === 'tls' ? 'secureConnect' : 'connect', () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  /** Wraps an accepted socket (for a raw server). */
  static wrap(socket: net.Socket): RawPeer {
    return new RawPeer(socket);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  hello(extra: Record<string, unknown> = {}): void {
    this.write(buildFrame(FrameType.HELLO, 0, 0, encode({ proto: 'fastpath', versions: [1], agent: 'raw', caps: [], maxFrameBytes: 1 << 20, ...extra })));
  }

  /** Waits for a frame of the given type (or any frame). Rejects on timeout. */
  async next(type?: number, timeoutMs = 5000): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => type === undefined || f.type === type);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`socket closed before frame type ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for frame type ${type}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('socket did not close');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
