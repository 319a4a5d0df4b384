import { FastpathError, toFastpathError } from '../protocol/errors.js';
import type { GoAway } from '../protocol/messages.js';
import { backoffDelay } from '../session/backoff.js';
import type { ClientSession } from '../session/client-session.js';
import { budgetMs, onDeadline, type Deadline } from '../session/deadline.js';
import type { PathInfo } from '../session/upgrade.js';
import type { ClientOptions, ReconnectInfo, ReconnectingInfo } from './client-options.js';
import { connectToTarget, sleep, type ConnectTarget } from './connect-target.js';
import { openSession } from './connect-once.js';
import { CallStats } from '../observe/call-stats.js';

export type KeeperState = 'open' | 'reconnecting' | 'closed';

/** What the keeper tells its Client. */
export interface KeeperHooks {
  path(info: PathInfo): void;
  goaway(info: GoAway): void;
  error(err: FastpathError): void;
  disconnect(reason: FastpathError): void;
  reconnecting(info: ReconnectingInfo): void;
  /** A new session is current: restore subscriptions before queued calls are released. */
  installed(session: ClientSession): void;
  reconnect(info: ReconnectInfo): void;
  /** The client is finished; `reason` is CANCELLED after close(). */
  closed(reason: FastpathError): void;
}

interface Waiter {
  resolve(session: ClientSession): void;
  reject(err: FastpathError): void;
  cancel(): void;
}

/** Codes after which reconnecting cannot help: the same request would be refused again. */
const FINAL_CODES = new Set(['CANCELLED', 'FAILED_PRECONDITION', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'INVALID_ARGUMENT', 'UNIMPLEMENTED']);

export const RECONNECT_DEFAULTS = { maxCalls: 1024, maxWaitMs: 30_000 } as const;

/**
 * Keeps a Client connected: holds the current session, notices when it ends (or the server sends
 * GOAWAY), reconnects with backoff through the target (a resolver is asked again every time, and
 * the tier is negotiated afresh), and holds new calls in a bounded queue meanwhile.
 */
export class SessionKeeper {
  state: KeeperState = 'open';
  /** Successful reconnects so far. */
  reconnects = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly abort = new AbortController();
  private finalReason: FastpathError | undefined;
  /** Sessions that are current or being opened: their path events are reported. */
  private readonly live = new WeakSet<ClientSession>();

  constructor(
    public session: ClientSession,
    /** The address the current session is connected to. */
    public address: string,
    private readonly target: ConnectTarget,
    private readonly options: ClientOptions,
    private readonly hooks: KeeperHooks,
  ) {
    this.attach(session);
    if (session.state === 'closed') {
      const reason = session.closeReason ?? new FastpathError('UNAVAILABLE', 'connection closed', { details: { reason: 'peer-closed' } });
      queueMicrotask(() => this.lost(reason));
    }
  }

  get reconnectEnabled(): boolean {
    return this.options.reconnect !== false;
  }

  /** Calls waiting for the next connection. */
  get queued(): number {
    return this.waiters.size;
  }

  get closeReason(): FastpathError | undefined {
    return this.finalReason;
  }

  private attach(session: ClientSession): void {
    this.live.add(session);
    session.stats = new CallStats(this.options.metrics !== false);
    session.events = {
      onPath: (info) => {
        if (this.live.has(session)) this.hooks.path(info);
      },
      onError: (err) => this.hooks.error(err),
      onGoAway: (g) => {
        if (session !== this.session || this.state !== 'open') return;
        this.hooks.goaway(g);
        // In-flight calls finish on the draining session; new ones wait for the next.
        if (this.reconnectEnabled) this.lost(new FastpathError('UNAVAILABLE', `server is going away: ${g.message}`, { remote: true, details: { reason: 'goaway', goawayCode: g.code } }));
      },
      onClose: (reason) => {
        this.live.delete(session);
        if (session === this.session && this.state === 'open') this.lost(reason);
      },
    };
  }

  /** The current session ended or is draining. */
  private lost(reason: FastpathError): void {
    if (!this.reconnectEnabled || FINAL_CODES.has(reason.code)) {
      this.finish(reason);
      return;
    }
    this.state = 'reconnecting';
    this.live.delete(this.session);
    this.hooks.disconnect(reason);
    void this.reconnectLoop(reason);
  }

  private async reconnectLoop(reason: FastpathError): Promise<void> {
    const max = this.options.maxReconnectAttempts ?? Infinity;
    let last = reason;
    for (let attempt = 1; attempt <= max; attempt++) {
      const delayMs = backoffDelay(attempt, this.options.reconnectBackoff);
      this.hooks.reconnecting({ attempt, delayMs, reason: last });
      try {
        await sleep(delayMs, this.abort.signal);
        let url = '';
        const session = await connectToTarget(this.target, { ...this.options, connectRetry: { attempts: 1 }, signal: this.abort.signal }, (u) => {
          url = u;
          return openSession(u, { ...this.options, signal: this.abort.signal }, (s) => this.attach(s));
        });
        if (this.state === 'closed') {
          session.close(new FastpathError('CANCELLED', 'client closed', { details: { reason: 'client-closed' } }));
          return;
        }
        this.install(session, url, attempt);
        return;
      } catch (err) {
        if (this.state === 'closed') return;
        const e = toFastpathError(err, 'UNAVAILABLE');
        if (FINAL_CODES.has(e.code)) {
          this.finish(e);
          return;
        }
        last = e;
      }
    }
    this.finish(
      new FastpathError('UNAVAILABLE', `gave up reconnecting after ${max} attempt${max === 1 ? '' : 's'}: ${last.message}`, {
        cause: last,
        details: { ...last.details, reason: 'reconnect-gave-up', attempts: max },
      }),
    );
  }

  private install(session: ClientSession, address: string, attempt: number): void {
    this.session = session;
    this.address = address;
    this.state = 'open';
    if (session.state === 'closed') {
      // Lost again before it could be used.
      this.lost(session.closeReason ?? new FastpathError('UNAVAILABLE', 'connection closed', { details: { reason: 'peer-closed' } }));
      return;
    }
    this.reconnects++;
    this.hooks.installed(session);
    this.hooks.reconnect({ attempt, address, path: session.pathInfo });
    for (const w of [...this.waiters]) {
      if (this.state !== 'open' || this.session !== session) break;
      this.waiters.delete(w);
      w.cancel();
      w.resolve(session);
    }
  }

  /**
   * The session to send on: the current one when open; otherwise waits (bounded in number and
   * time, and by the call's deadline and signal) for the next connection.
   */
  whenOpen(what: string, deadline: Deadline | undefined, signal: AbortSignal | undefined): Promise<ClientSession> {
    if (this.state === 'open') return Promise.resolve(this.session);
    if (this.state === 'closed') return Promise.reject(this.closedError(what));
    const q = { ...RECONNECT_DEFAULTS, ...this.options.reconnectQueue };
    if (this.waiters.size >= q.maxCalls) {
      return Promise.reject(new FastpathError('UNAVAILABLE', `cannot send ${what}: reconnecting, and ${q.maxCalls} calls are already waiting`, { details: { reason: 'reconnect-queue-full', unprocessed: true, limit: q.maxCalls } }));
    }
    if (signal?.aborted) return Promise.reject(new FastpathError('CANCELLED', `${what} was cancelled while the client was reconnecting`, { cause: signal.reason }));
    return new Promise<ClientSession>((resolve, reject) => {
      const stops: (() => void)[] = [];
      const w: Waiter = { resolve, reject, cancel: () => stops.forEach((s) => s()) };
      const fail = (err: FastpathError): void => {
        if (!this.waiters.delete(w)) return;
        w.cancel();
        reject(err);
      };
      const budget = budgetMs(deadline);
      if (deadline !== undefined && budget! <= q.maxWaitMs) {
        stops.push(onDeadline(deadline, () => fail(new FastpathError('DEADLINE_EXCEEDED', `${what} did not finish within its deadline (${budget} ms): the client was reconnecting`, { details: { budgetMs: budget, reason: 'reconnecting' } }))));
      } else {
        const t = setTimeout(() => fail(new FastpathError('UNAVAILABLE', `cannot send ${what}: still reconnecting after ${q.maxWaitMs} ms`, { details: { reason: 'reconnect-wait-timeout', unprocessed: true } })), q.maxWaitMs);
        t.unref();
        stops.push(() => clearTimeout(t));
      }
      if (signal) {
        const onAbort = (): void => fail(new FastpathError('CANCELLED', `${what} was cancelled while the client was reconnecting`, { cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
        stops.push(() => signal.removeEventListener('abort', onAbort));
      }
      this.waiters.add(w);
    });
  }

  /** UNAVAILABLE for a call made after the end; CANCELLED for one that was waiting when close() ran. */
  private closedError(what: string, waiting = false): FastpathError {
    const r = this.finalReason;
    return new FastpathError(waiting && r?.code === 'CANCELLED' ? 'CANCELLED' : 'UNAVAILABLE', `cannot send ${what}: ${r?.message ?? 'the client is closed'}`, {
      cause: r,
      details: { reason: 'client-closed', unprocessed: true },
    });
  }

  /** The client is finished: no more reconnects; waiting calls fail. */
  finish(reason: FastpathError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.finalReason = reason;
    this.abort.abort();
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      w.cancel();
      w.reject(this.closedError('the call', true));
    }
    if (this.session.state !== 'closed') this.session.close(reason);
    this.hooks.closed(reason);
  }
}
