import { helloAuth, type ClientAuth, type HelloAuth } from '../protocol/auth.js';
import { FastpathError, ProtocolError } from '../protocol/errors.js';
import { channels, clientConnectionId, publishPath, type ConnectMessage } from '../observe/diagnostics.js';
import { FrameType } from '../protocol/frame.js';
import { AGENT, decodeWelcome, encodeHello, PROTOCOL_VERSIONS, type Welcome } from '../protocol/handshake.js';
import { decodeGoAway, type GoAway } from '../protocol/messages.js';
import { decodeUpgrade, decodeUpgradeAck, encodeUpgradeAck, parseWelcomeFastPath, type HelloFastPath, type UpgradeOffer } from '../protocol/upgrade-messages.js';
import type { Connection, Tier } from '../transport/types.js';
import { getUpgradeTier, type TierOptions } from '../transport/upgrade-tier.js';
import { channelBinding } from './channel-binding.js';
import { FrameSession, type FrameSessionOptions } from './frame-session.js';
import { withTls, type FastPathMode, type PathInfo, type TlsLocal } from './upgrade.js';

/** The client's fast-path settings for one connection. */
export interface ClientFastPath {
  mode: FastPathMode;
  host: string;
  uid: number;
  /** Tiers this client can attach to, fastest first. */
  tiers: Tier[];
  /** Why known tiers are missing from `tiers`. */
  unavailable: Record<string, string>;
  tierOptions: Record<string, TierOptions>;
  upgradeTimeoutMs: number;
  /** The client's tlsLocal: 'require' keeps a TLS connection on TLS (sent in HELLO; docs/tls.md). */
  tlsLocal?: TlsLocal;
}

export interface ClientSessionOptions extends FrameSessionOptions {
  handshakeTimeoutMs: number;
  /** Sent in HELLO as connection-level metadata. */
  helloMeta?: Record<string, string>;
  /** Extra HELLO fields (used by later protocol features). */
  helloExtra?: Record<string, unknown>;
  /** Credentials sent in HELLO (a fresh HMAC proof for every connection). */
  auth?: ClientAuth;
  fastPath: ClientFastPath;
}

export interface ClientSessionEvents {
  onGoAway?: (g: GoAway) => void;
  onClose?: (reason: FastpathError) => void;
  onPath?: (info: PathInfo) => void;
  /** A connection-level ERROR (id 0), e.g. a refused fire-and-forget publish. */
  onError?: (err: FastpathError) => void;
}

/**
 * The client's side of the handshake (HELLO/WELCOME) and of the fast-path negotiation (UPGRADE,
 * attach, the switch). ClientSession builds the calls on top of it.
 */
export abstract class ClientHandshake extends FrameSession {
  protected peerMaxFrameBytes = 0;
  private readyResolve!: (w: Welcome) => void;
  private readyReject!: (e: FastpathError) => void;
  readonly ready: Promise<Welcome>;
  welcome: Welcome | undefined;
  events: ClientSessionEvents = {};
  /** This connection's id on the diagnostics channels. */
  readonly connectionId = clientConnectionId();
  /** Where the connection runs, and why not faster. Final once `pathSettled` resolves. */
  pathInfo: PathInfo;
  private settlePath!: (info: PathInfo) => void;
  /** Resolves when the fast-path negotiation has finished, either way. */
  readonly pathSettled: Promise<PathInfo>;
  private pathDone = false;
  private upgradeTimer: NodeJS.Timeout | undefined;
  /** Why the server skipped faster tiers, when it offered a slower one. */
  private offerReason: string | undefined;
  /** An attach to an offered tier is in progress. */
  private attaching = false;
  /** The connection this session began on (TLS or not: PathInfo.tls is reported from it). */
  private readonly origin: Connection;

  constructor(conn: Connection, protected readonly clientOptions: ClientSessionOptions) {
    super(conn, clientOptions);
    this.origin = conn;
    this.pathInfo = withTls({ path: conn.tier, reason: 'negotiating' }, conn);
    this.pathSettled = new Promise((resolve) => {
      this.settlePath = resolve;
    });
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    const t = setTimeout(() => {
      if (this.state === 'handshake') {
        this.terminate(new FastpathError('UNAVAILABLE', `no WELCOME from ${conn.remote} within ${clientOptions.handshakeTimeoutMs} ms`, { details: { reason: 'handshake-timeout' } }));
      }
    }, clientOptions.handshakeTimeoutMs);
    t.unref();
    this.ready.then(() => clearTimeout(t), () => clearTimeout(t));
    const fp = clientOptions.fastPath;
    const helloFastPath: HelloFastPath | undefined =
      fp.mode === 'off'
        ? undefined
        : { mode: fp.mode, host: fp.host, uid: fp.uid, tiers: fp.tiers, unavailable: fp.unavailable, ...(fp.tlsLocal === 'require' && conn.tls !== undefined ? { tlsLocal: 'require' as const } : {}) };
    let auth: HelloAuth | undefined;
    if (clientOptions.auth) {
      try {
        auth = helloAuth(clientOptions.auth, channelBinding(conn));
      } catch (err) {
        // A bad option is final (not retried); the session is not fully built yet, so end it next tick.
        const e = new FastpathError('INVALID_ARGUMENT', `invalid auth option: ${(err as Error).message}`, { details: { reason: 'bad-option' } });
        queueMicrotask(() => this.terminate(e));
        return;
      }
    }
    this.send(
      encodeHello({
        ...clientOptions.helloExtra,
        versions: [...PROTOCOL_VERSIONS],
        agent: AGENT,
        caps: [],
        maxFrameBytes: clientOptions.maxFrameBytes,
        ...(clientOptions.helloMeta ? { meta: clientOptions.helloMeta } : {}),
        ...(auth ? { auth } : {}),
        ...(helloFastPath ? { fastPath: helloFastPath } : {}),
      }),
    );
  }
  /** Ends the negotiation: records the path, tells listeners, enforces fastPath 'require'. */
  protected settle(info: PathInfo): void {
    if (this.pathDone) return;
    this.pathDone = true;
    if (this.upgradeTimer) clearTimeout(this.upgradeTimer);
    info = withTls(info, this.origin);
    this.pathInfo = info;
    this.settlePath(info);
    publishPath('client', this.connectionId, this.firstTier, info.path, info.reason);
    this.events.onPath?.(info);
    if (this.clientOptions.fastPath.mode === 'require' && (info.path === 'tcp' || info.path === 'tcp-fastpath') && this.state !== 'closed') {
      this.terminate(new FastpathError('FAILED_PRECONDITION', `fast path required, but the connection stays on ${info.path}: ${info.reason ?? 'unknown reason'}`, { details: { reason: 'fast-path-required' } }));
    }
  }

  /** Abandons an upgrade in progress and stays on the current tier. */
  protected abandonUpgrade(reason: string, tellServer: boolean): void {
    this.dropStaged();
    if (tellServer && this.state !== 'closed') this.send(encodeUpgradeAck({ fail: reason }));
    this.settle({ path: this.tier, reason });
  }

  private async attach(offer: UpgradeOffer): Promise<void> {
    const fp = this.clientOptions.fastPath;
    const impl = getUpgradeTier(offer.tier);
    if (!impl || !fp.tiers.includes(offer.tier as Tier)) {
      this.abandonUpgrade(`attach failed: tier ${offer.tier} is not available on this client`, true);
      return;
    }
    let channel: Connection;
    try {
      channel = await impl.attach(offer.params, fp.tierOptions[offer.tier] ?? {});
    } catch (err) {
      if (this.state !== 'closed') this.abandonUpgrade(`attach failed: ${(err as Error).message}`, true);
      return;
    }
    if (this.state === 'closed' || this.pathDone) {
      channel.destroy();
      return;
    }
    this.stageChannel(channel);
    // Prove the nonce on the new channel; the server answers by switching its writes to it.
    channel.write(encodeUpgradeAck({ attach: offer.nonce }));
  }

  protected override onStagedLost(err: Error | undefined): void {
    if (!this.pathDone) this.abandonUpgrade(`attach failed: the server closed the new channel${err ? ` (${err.message})` : ''}`, true);
  }

  private onWelcomeFastPath(w: { offer: boolean; tier?: string; reason?: string }): void {
    if (this.clientOptions.fastPath.mode === 'off') {
      this.settle({ path: this.tier, reason: 'fastPath is off for this connection' });
    } else if (!w.offer) {
      this.settle({ path: this.tier, reason: w.reason ?? 'the server made no offer' });
    } else {
      this.offerReason = w.reason;
      this.upgradeTimer = setTimeout(() => {
        // Once the new channel is attached and the nonce sent, only the server decides: it either
        // switches or closes that channel (which abandons the upgrade safely). Giving up here
        // could race with a switch already on its way.
        if (!this.pathDone && !this.hasStaged) this.abandonUpgrade(`attach failed: no switch within ${this.clientOptions.fastPath.upgradeTimeoutMs} ms`, true);
      }, this.clientOptions.fastPath.upgradeTimeoutMs);
      this.upgradeTimer.unref();
    }
  }

  /** Handles WELCOME, UPGRADE, UPGRADE_ACK and a GOAWAY that refuses the handshake; returns false for any other frame. */
  protected handleHandshakeFrame(type: number, body: Uint8Array): boolean {
    switch (type) {
      case FrameType.GOAWAY: {
        if (this.state !== 'handshake') return false;
        // Refused during the handshake (version, auth, a limit...): connect() rejects with the
        // server's code and message, and its details when it sent them (else reason 'goaway').
        const g = decodeGoAway(body);
        this.closeReason = new FastpathError(g.code === 'OK' ? 'UNAVAILABLE' : g.code, g.message, { remote: true, details: g.details ? { ...g.details } : { reason: 'goaway' } });
        this.terminate(this.closeReason);
        return true;
      }
      case FrameType.WELCOME:
        if (this.state !== 'handshake') throw new ProtocolError('unexpected-frame', 'WELCOME after the handshake');
        {
          const welcome = decodeWelcome(body);
          if (!PROTOCOL_VERSIONS.includes(welcome.version)) {
            throw new ProtocolError('bad-handshake', `server chose protocol version ${welcome.version}, which was not offered`);
          }
          this.welcome = welcome;
        }
        this.peerMaxFrameBytes = this.welcome.maxFrameBytes;
        this.state = 'open';
        this.keepalive.start();
        if (channels.connect.hasSubscribers) {
          channels.connect.publish({ side: 'client', connection: this.connectionId, remote: this.remote, local: this.local, tier: this.firstTier } satisfies ConnectMessage);
        }
        this.readyResolve(this.welcome);
        this.onWelcomeFastPath(parseWelcomeFastPath(this.welcome.fastPath));
        return true;
      case FrameType.UPGRADE:
        if (this.pathDone || this.hasStaged || this.attaching) throw new ProtocolError('bad-upgrade', 'unexpected UPGRADE');
        this.attaching = true;
        void this.attach(decodeUpgrade(body)).finally(() => {
          this.attaching = false;
        });
        return true;
      case FrameType.UPGRADE_ACK: {
        const ack = decodeUpgradeAck(body);
        if ('switch' in ack) {
          // The server writes on the new channel from now on. Move our writes (marker last on the
          // old channel), then read the new channel, starting with the frames held for the switch.
          this.switchWrites();
          this.switchReads();
          this.settle(this.offerReason ? { path: this.tier, reason: this.offerReason } : { path: this.tier });
        } else if ('fail' in ack) {
          this.abandonUpgrade(ack.fail, false);
        } else {
          throw new ProtocolError('bad-upgrade', 'a client does not accept UPGRADE_ACK {attach}');
        }
        return true;
      }
      default:
        return false;
    }
  }

  /** The session ended: settle what the handshake and the negotiation still owe. */
  protected handshakeClosed(reason: FastpathError): void {
    if (!this.welcome) this.readyReject(reason);
    if (!this.pathDone) {
      this.pathDone = true;
      if (this.upgradeTimer) clearTimeout(this.upgradeTimer);
      this.settlePath(this.pathInfo);
    }
  }
}
