import { FastpathError, ProtocolError, toFastpathError } from '../protocol/errors.js';
import { AGENT, decodeHello, encodeWelcome, negotiateVersion, type Hello } from '../protocol/handshake.js';
import { FrameType } from '../protocol/frame.js';
import { encodeGoAway } from '../protocol/messages.js';
import { decodeUpgradeAck, encodeUpgrade, encodeUpgradeAck, parseHelloFastPath, type HelloFastPath } from '../protocol/upgrade-messages.js';
import type { Connection, Tier } from '../transport/types.js';
import { ANONYMOUS, type AuthContext } from './auth-verify.js';
import { channelBinding } from './channel-binding.js';
import { FrameSession, type FrameSessionOptions } from './frame-session.js';
import type { PeerInfo } from './server-call.js';
import { withTls, type FastPathMode, type OfferDecision, type PathInfo } from './upgrade.js';

/** An offer the server made, until the client attaches or gives up. */
export interface PreparedOffer {
  nonce: Uint8Array;
  params: Record<string, unknown>;
  /** Forgets the nonce and frees the tier's resources. */
  cancel(): void;
}

function fingerprintsField(f: Record<string, string>): { fingerprints?: Record<string, string> } {
  return Object.keys(f).length ? { fingerprints: f } : {};
}

/** What the handshake and the upgrade need from the server. */
export interface ServerHandshakeHost {
  /** A peer misbehaved (protocol error) or a handler failed in a way worth reporting. */
  reportError(err: FastpathError, session: ServerHandshake): void;
  /** The handshake finished. Throwing refuses the connection with that error. */
  onOpen(session: ServerHandshake): void;
  /**
   * Checks the HELLO `auth` value (`binding`: the TLS exporter of a TLS connection). Returns the
   * connection's AuthContext, or throws / rejects to refuse it (UNAUTHENTICATED).
   */
  authenticate(auth: unknown, peer: PeerInfo, binding: Uint8Array | undefined): AuthContext | Promise<AuthContext>;
  /** May one more connection open? Returns the refusal (RESOURCE_EXHAUSTED) when it may not. */
  admit(session: ServerHandshake): FastpathError | undefined;
  /** The server's fast-path mode and the tier it would offer this client. */
  fastPathMode(): FastPathMode;
  /** `secure`: the connection is TLS (tlsLocal applies). */
  decideOffer(fastPath: HelloFastPath | undefined, current: Tier, secure: boolean): OfferDecision;
  /** Prepares an offer; the attach arrives later through session.attachChannel(). */
  prepareOffer(tier: Tier, session: ServerHandshake): Promise<PreparedOffer>;
  /** The connection's path was decided (after the switch, or when it stays). */
  onPath(session: ServerHandshake, info: PathInfo): void;
  /** Contract fingerprints of the registered methods that have one, announced in WELCOME. */
  fingerprints(): Record<string, string>;
}

export interface ServerHandshakeOptions extends FrameSessionOptions {
  handshakeTimeoutMs: number;
}

/**
 * The server's side of the handshake (HELLO/WELCOME, version and fast-path decisions) and of the
 * upgrade (UPGRADE offer, attach, the switch). ServerSession runs the calls on top of it.
 */
export abstract class ServerHandshake extends FrameSession {
  protected peerMaxFrameBytes = 0;
  hello: Hello | undefined;
  peer: PeerInfo;
  pathInfo: PathInfo;
  private offer: PreparedOffer | undefined;
  private offerReason: string | undefined;
  private writesSwitched = false;
  /** The connection the client opened (TLS or not: PathInfo.tls is reported from it). */
  private readonly origin: Connection;
  /** HELLO arrived and an async authentication is deciding; WELCOME is not sent yet. */
  private authenticating = false;

  private handshakeTimer: NodeJS.Timeout | undefined;

  constructor(
    conn: Connection,
    private readonly handshakeHost: ServerHandshakeHost,
    options: ServerHandshakeOptions,
  ) {
    super(conn, options);
    this.peer = { remote: conn.remote, path: conn.tier, meta: {}, agent: 'unknown', auth: ANONYMOUS };
    this.origin = conn;
    this.pathInfo = withTls({ path: conn.tier, reason: 'negotiating' }, conn);
    this.handshakeTimer = setTimeout(() => {
      if (this.state !== 'handshake') return;
      if (this.authenticating) {
        this.refuse(new FastpathError('UNAVAILABLE', `authentication did not finish within ${options.handshakeTimeoutMs} ms`, { details: { reason: 'auth-timeout' } }), true);
      } else {
        this.protocolFailure(new ProtocolError('handshake-timeout', `no HELLO within ${options.handshakeTimeoutMs} ms`));
      }
    }, options.handshakeTimeoutMs);
    this.handshakeTimer.unref();
  }

  /** Ends the HELLO timer (it would otherwise keep a closed session reachable until it fires). */
  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  /** Handles HELLO (first frame) and UPGRADE_ACK; returns false for any other frame. */
  protected handleHandshakeFrame(type: number, body: Uint8Array): boolean {
    if (this.state === 'handshake') {
      if (this.authenticating) throw new ProtocolError('unexpected-frame', `frame type ${type} before WELCOME (authentication in progress)`);
      if (type !== FrameType.HELLO) throw new ProtocolError('unexpected-frame', `expected HELLO, got frame type ${type}`);
      this.onHello(body);
      return true;
    }
    if (type !== FrameType.UPGRADE_ACK) return false;
        const ack = decodeUpgradeAck(body);
        if ('switch' in ack && this.writesSwitched) {
          // The client's last frame on the old channel: read the new one from here on. The path
          // is updated first, so the calls held for the switch already see the new tier.
          this.offer = undefined;
          this.setPath(this.offerReason ? { path: this.tier, reason: this.offerReason } : { path: this.tier });
          this.switchReads();
        } else if ('fail' in ack) {
          if (this.writesSwitched) {
            // Too late to abandon: our frames already went to the new channel.
            throw new ProtocolError('bad-upgrade', `client abandoned the upgrade after the switch: ${ack.fail}`);
          }
          this.offer?.cancel();
          this.offer = undefined;
          this.dropStaged();
          this.setPath({ path: this.tier, reason: ack.fail });
        } else {
          throw new ProtocolError('bad-upgrade', 'unexpected UPGRADE_ACK');
        }
    return true;
  }

  private onHello(body: Uint8Array): void {
    const hello = decodeHello(body);
    let version: number;
    try {
      version = negotiateVersion(hello.versions);
    } catch (err) {
      const e = err as FastpathError;
      this.send(encodeGoAway(e.code, e.message, 0));
      this.closeReason = e;
      this.handshakeHost.reportError(e, this);
      this.terminate(e);
      return;
    }
    const fastPath = parseHelloFastPath(hello.fastPath);
    this.peerMaxFrameBytes = hello.maxFrameBytes;
    this.peer = { remote: this.conn.remote, path: this.conn.tier, meta: hello.meta ?? {}, agent: hello.agent, auth: ANONYMOUS };
    const decision = this.handshakeHost.decideOffer(fastPath, this.conn.tier, this.origin.tls !== undefined);
    const required = this.handshakeHost.fastPathMode() === 'require' || fastPath?.mode === 'require';
    if (required && decision.tier === undefined && (this.conn.tier === 'tcp' || this.conn.tier === 'tcp-fastpath')) {
      this.refuse(new FastpathError('FAILED_PRECONDITION', `fast path required, but ${decision.reason}`, { details: { reason: 'fast-path-required' } }));
      return;
    }
    let auth: AuthContext | Promise<AuthContext>;
    try {
      auth = this.handshakeHost.authenticate(hello.auth, this.peer, hello.auth === undefined ? undefined : channelBinding(this.conn));
    } catch (err) {
      this.refuseAuth(err);
      return;
    }
    if (!(auth instanceof Promise)) {
      this.open(hello, version, decision, auth);
      return;
    }
    this.authenticating = true;
    auth.then(
      (a) => {
        this.authenticating = false;
        if (this.state === 'handshake') this.open(hello, version, decision, a);
      },
      (err) => {
        this.authenticating = false;
        if (this.state === 'handshake') this.refuseAuth(err);
      },
    );
  }

  /** Authentication passed: admit the connection (limits, the application) and send WELCOME. */
  private open(hello: Hello, version: number, decision: OfferDecision, auth: AuthContext): void {
    this.peer = { ...this.peer, auth };
    const full = this.handshakeHost.admit(this);
    if (full) {
      this.refuse(full, true);
      return;
    }
    // Set only for connections that are accepted: the server reports 'connection'/'disconnect' for these.
    this.hello = hello;
    try {
      this.handshakeHost.onOpen(this);
    } catch (err) {
      this.refuse(toFastpathError(err, 'UNAVAILABLE'));
      return;
    }
    this.state = 'open';
    this.clearHandshakeTimer();
    this.send(
      encodeWelcome({
        version,
        agent: AGENT,
        caps: [],
        maxFrameBytes: this.options.maxFrameBytes,
        keepaliveMs: this.options.keepalive.intervalMs,
        fastPath: decision.tier ? { offer: true, tier: decision.tier, ...(decision.reason ? { reason: decision.reason } : {}) } : { offer: false, reason: decision.reason },
        ...fingerprintsField(this.handshakeHost.fingerprints()),
      }),
    );
    this.keepalive.start();
    if (decision.tier) void this.makeOffer(decision.tier, decision.reason);
    else this.setPath({ path: this.tier, reason: decision.reason });
  }

  /**
   * Authentication refused the client (a FastpathError: sent as it is, with its details) or
   * failed (anything else, e.g. a verify hook that threw: UNAVAILABLE, and the real error is only
   * reported to the server's `error` listeners). Nothing the client sent is echoed.
   */
  private refuseAuth(err: unknown): void {
    if (FastpathError.is(err)) {
      this.refuse(err, true);
      return;
    }
    const e = new FastpathError('UNAVAILABLE', 'authentication could not be completed on the server', { cause: err, details: { reason: 'auth-error' } });
    this.handshakeHost.reportError(new FastpathError('UNAVAILABLE', `authentication failed on the server: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { reason: 'auth-error' } }), this);
    this.refuse(e);
  }

  /** GOAWAY (with the error's details when `withDetails`) and close, during the handshake. */
  private refuse(e: FastpathError, report = false): void {
    this.send(encodeGoAway(e.code, e.message, 0, e.details));
    this.closeReason = e;
    if (report) this.handshakeHost.reportError(e, this);
    this.terminate(e);
  }

  protected setPath(info: PathInfo): void {
    info = withTls(info, this.origin);
    this.pathInfo = info;
    this.peer = { ...this.peer, path: info.path };
    this.handshakeHost.onPath(this, info);
  }

  private async makeOffer(tier: Tier, reason: string | undefined): Promise<void> {
    this.offerReason = reason;
    let offer: PreparedOffer;
    try {
      offer = await this.handshakeHost.prepareOffer(tier, this);
    } catch (err) {
      if (this.state === 'closed') return;
      const why = `attach failed: the server could not prepare ${tier}: ${(err as Error).message}`;
      this.send(encodeUpgradeAck({ fail: why }));
      this.setPath({ path: this.tier, reason: why });
      return;
    }
    if (this.state === 'closed') {
      offer.cancel();
      return;
    }
    this.offer = offer;
    this.send(encodeUpgrade({ tier, nonce: offer.nonce, params: offer.params }));
  }

  /** A client proved this session's nonce on a new channel: switch our writes to it. */
  attachChannel(conn: Connection, leftover: Uint8Array): void {
    if (this.state === 'closed' || this.offer === undefined || this.writesSwitched) {
      conn.destroy();
      return;
    }
    this.stageChannel(conn, leftover);
    this.switchWrites();
    this.writesSwitched = true;
  }

  /** The offer expired before the client attached. */
  offerExpired(): void {
    if (this.offer === undefined || this.writesSwitched) return;
    this.offer.cancel();
    this.offer = undefined;
    this.setPath({ path: this.tier, reason: 'attach failed: the client did not attach in time' });
  }

  protected override onStagedLost(): void {
    if (this.writesSwitched && this.state !== 'closed') {
      // Frames were already written to the channel that died: the session cannot continue intact.
      this.terminate(new FastpathError('UNAVAILABLE', 'the fast-path channel closed during the switch', { details: { reason: 'switch-failed' } }));
    }
  }

  /** The session ended: free the pending offer. */
  protected handshakeClosed(): void {
    this.clearHandshakeTimer();
    this.offer?.cancel();
    this.offer = undefined;
  }
}
