import { FastpathError } from '../protocol/errors.js';
import type { Metadata } from '../protocol/messages.js';
import type { Code } from '../protocol/codes.js';
import type { Tier } from '../transport/types.js';
import type { AuthContext } from './auth-verify.js';
import { now, type Deadline } from './deadline.js';

export interface PeerInfo {
  /** The peer's address as the transport sees it. */
  readonly remote: string;
  /** The tier the connection runs on. */
  readonly path: Tier;
  /** Connection-level metadata the client sent in HELLO. */
  readonly meta: Readonly<Record<string, string>>;
  /** The client's agent string. */
  readonly agent: string;
  /** Who the client authenticated as in the handshake (method 'none' when anonymous). */
  readonly auth: AuthContext;
}

const EMPTY_METADATA: Metadata = Object.freeze(Object.create(null) as Metadata);

/**
 * The server side of one call, handed to handlers and interceptors as their context.
 * The AbortSignal is created lazily: calls whose handler never looks at it do not pay for one.
 */
export class ServerCall {
  private controller: AbortController | undefined;
  private abortReason: FastpathError | undefined;
  /** Set once a response, an error, or a cancellation has ended the call. */
  done = false;
  cancelTimer: (() => void) | undefined;
  readonly metadata: Metadata;
  /** For metrics: when it started (CallStats.begin), how it failed, and whether it was counted. */
  startedAt = 0;
  failedWith: Code | undefined;
  counted = false;

  constructor(
    readonly id: number,
    readonly method: string,
    metadata: Metadata | undefined,
    /** Absolute deadline on this server's clock, or undefined. */
    readonly deadline: Deadline | undefined,
    readonly peer: PeerInfo,
  ) {
    this.metadata = metadata ?? EMPTY_METADATA;
  }

  /** Who the client authenticated as (the connection's; the same for every call on it). */
  get auth(): AuthContext {
    return this.peer.auth;
  }

  /** Aborted when the deadline passes, the client cancels, or the connection goes away. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortReason !== undefined;
  }

  /** Milliseconds left before the deadline (Infinity without one). */
  remainingMs(): number {
    return this.deadline === undefined ? Infinity : Math.max(0, this.deadline - now());
  }

  abort(reason: FastpathError): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}
