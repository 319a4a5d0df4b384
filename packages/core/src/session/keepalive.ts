/**
 * Keepalive with PING/PONG. Every `intervalMs` the connection checks whether anything arrived
 * since the last check. If nothing did, it sends a PING. If a PING stays unanswered for
 * `timeoutMs` (and nothing else arrived either), the peer is declared dead.
 */
export interface KeepaliveOptions {
  intervalMs: number;
  timeoutMs: number;
}

export class Keepalive {
  private timer: NodeJS.Timeout | null = null;
  private received = false;
  private pingSentAt = 0;
  private seq = 0;

  constructor(
    private readonly options: KeepaliveOptions,
    private readonly sendPing: (seq: number) => void,
    private readonly onDead: (silentMs: number) => void,
  ) {}

  start(): void {
    if (this.timer || !(this.options.intervalMs > 0)) return;
    const tick = Math.max(1, Math.min(this.options.intervalMs, this.options.timeoutMs));
    this.timer = setInterval(() => this.check(), tick);
    this.timer.unref();
  }

  /** Anything arriving from the peer proves it is alive. */
  markReceived(): void {
    this.received = true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private lastActivity = Date.now();

  private check(): void {
    const t = Date.now();
    if (this.received) {
      this.received = false;
      this.lastActivity = t;
      this.pingSentAt = 0;
      return;
    }
    if (this.pingSentAt !== 0) {
      if (t - this.pingSentAt >= this.options.timeoutMs) {
        this.stop();
        this.onDead(t - this.lastActivity);
      }
      return;
    }
    if (t - this.lastActivity >= this.options.intervalMs) {
      this.pingSentAt = t;
      this.seq = (this.seq + 1) >>> 0;
      this.sendPing(this.seq);
    }
  }
}
