import { createHash, timingSafeEqual } from 'node:crypto';
import { HMAC_SCHEME, hmacInput, hmacMac, parseHelloAuth, TLS_EXPORTER, type HmacAuth } from '../protocol/auth.js';
import { FastpathError } from '../protocol/errors.js';
import { ReplayCache } from './replay-cache.js';

/** How a connection was authenticated. */
export type AuthMethod = 'token' | 'hmac' | 'custom' | 'none';

/** Who is on the other end of a connection, as the server established it in the handshake. */
export interface AuthContext {
  /** The authenticated identity: the `tokens` name, the HMAC key id, or what `verify` returned. Undefined when anonymous. */
  readonly identity: string | undefined;
  readonly method: AuthMethod;
  /** Claims `verify` returned (empty for tokens and HMAC keys). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** The credentials `verify` is asked about: a token the `tokens` list does not hold, or none at all. */
export type Credentials = { readonly method: 'token'; readonly token: string } | { readonly method: 'none' };

/** What `verify` returns to accept a connection. */
export interface AuthVerdict {
  identity: string;
  claims?: Record<string, unknown>;
}

type MaybePromise<T> = T | Promise<T>;
type Secret = string | Uint8Array;

/** Who may connect (the server's `auth` option). */
export interface ServerAuthOptions<Peer = unknown> {
  /** Accepted bearer tokens, by identity: `{ billing: process.env.BILLING_TOKEN }`. */
  tokens?: Readonly<Record<string, string>>;
  /** HMAC keys by key id, or a lookup (sync or async; undefined for an unknown key id). */
  hmacKeys?: Readonly<Record<string, Secret>> | ((keyId: string) => MaybePromise<Secret | undefined>);
  /**
   * Decides what the lists above do not settle: a token not in `tokens`, or a client that sent no
   * credentials. Return an identity to accept, false/undefined to refuse (UNAUTHENTICATED), or
   * throw a FastpathError to refuse with that code. Sync or async.
   */
  verify?: (credentials: Credentials, peer: Peer) => MaybePromise<AuthVerdict | false | null | undefined>;
  /** Refuse clients without credentials (default true once anything above is configured). */
  required?: boolean;
  /** An HMAC proof is accepted while its timestamp is within this many ms of the server's clock (default 60 000). */
  hmacWindowMs?: number;
  /** Nonces remembered to refuse replayed HMAC proofs (default 100 000; see docs/security.md). */
  replayCacheSize?: number;
}

export const ANONYMOUS: AuthContext = Object.freeze({ identity: undefined, method: 'none' as const, claims: Object.freeze({}) });

export const AUTH_DEFAULTS = { hmacWindowMs: 60_000, replayCacheSize: 100_000 } as const;

function unauthenticated(reason: string, message: string): FastpathError {
  return new FastpathError('UNAUTHENTICATED', `authentication failed: ${message}`, { details: { reason } });
}

function isThenable<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

const sha256 = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest();

function context(identity: string, method: AuthMethod, claims?: Record<string, unknown>): AuthContext {
  return Object.freeze({ identity, method, claims: Object.freeze({ ...claims }) });
}

/**
 * Checks the HELLO `auth` value against the server's `auth` option and returns the connection's
 * AuthContext, or throws (or rejects with) a FastpathError to refuse it. Stays synchronous unless
 * an async `verify` or key lookup is involved. Secrets are compared in constant time and never
 * appear in an error message.
 */
export class AuthVerifier<Peer = unknown> {
  private readonly tokenDigests: Array<[identity: string, digest: Buffer]>;
  private readonly replay: ReplayCache;
  private readonly windowMs: number;
  readonly required: boolean;

  constructor(private readonly options: ServerAuthOptions<Peer>) {
    this.tokenDigests = Object.entries(options.tokens ?? {}).map(([identity, token]) => {
      if (typeof token !== 'string' || token.length === 0) throw new TypeError(`auth.tokens.${identity} must be a non-empty string`);
      return [identity, sha256(token)];
    });
    this.windowMs = options.hmacWindowMs ?? AUTH_DEFAULTS.hmacWindowMs;
    this.replay = new ReplayCache(this.windowMs, options.replayCacheSize ?? AUTH_DEFAULTS.replayCacheSize);
    const configured = this.tokenDigests.length > 0 || options.hmacKeys !== undefined || options.verify !== undefined;
    this.required = options.required ?? configured;
  }

  /** `binding` is this connection's TLS exporter, when it is TLS. */
  verify(raw: unknown, peer: Peer, binding: Uint8Array | undefined, nowMs = Date.now()): MaybePromise<AuthContext> {
    const creds = parseHelloAuth(raw);
    if (creds === undefined) return this.custom({ method: 'none' }, peer, () => (this.required ? unauthenticated('auth-required', 'this server requires credentials (client option auth)') : ANONYMOUS));
    if ('malformed' in creds) throw unauthenticated('auth-malformed', creds.malformed);
    if ('unsupported' in creds) throw unauthenticated('auth-unsupported', `this server does not accept ${creds.unsupported}`);
    if (creds.scheme === HMAC_SCHEME) return this.hmac(creds, binding, nowMs);
    // A token: every accepted token is compared (constant time, on digests so lengths do not leak).
    const digest = sha256(creds.token);
    let match: string | undefined;
    for (const [identity, d] of this.tokenDigests) if (timingSafeEqual(d, digest) && match === undefined) match = identity;
    if (match !== undefined) return context(match, 'token');
    return this.custom({ method: 'token', token: creds.token }, peer, () => unauthenticated('auth-failed', 'invalid credentials'));
  }

  /** Asks `verify`, if there is one; `otherwise` gives the answer without it (or after a refusal). */
  private custom(creds: Credentials, peer: Peer, otherwise: () => AuthContext | FastpathError): MaybePromise<AuthContext> {
    const fallback = (): AuthContext => {
      const r = otherwise();
      if (FastpathError.is(r)) throw r;
      return r;
    };
    const hook = this.options.verify;
    if (!hook) return fallback();
    const settle = (v: AuthVerdict | false | null | undefined): AuthContext => {
      if (v && typeof v === 'object' && typeof v.identity === 'string') return context(v.identity, 'custom', v.claims);
      return fallback();
    };
    const out = hook(creds, peer);
    return isThenable(out) ? Promise.resolve(out).then(settle) : settle(out);
  }

  private hmac(p: HmacAuth, binding: Uint8Array | undefined, nowMs: number): MaybePromise<AuthContext> {
    const keys = this.options.hmacKeys;
    if (keys === undefined) throw unauthenticated('auth-unsupported', 'this server does not accept HMAC keys');
    const secret = typeof keys === 'function' ? keys(p.keyId) : Object.hasOwn(keys, p.keyId) ? keys[p.keyId] : undefined;
    if (isThenable(secret)) return Promise.resolve(secret).then((s) => this.checkProof(p, s, binding, Date.now()));
    return this.checkProof(p, secret, binding, nowMs);
  }

  private checkProof(p: HmacAuth, secret: Secret | undefined, binding: Uint8Array | undefined, nowMs: number): AuthContext {
    // Unknown key, wrong MAC and a binding this connection cannot reproduce look the same to the client.
    const invalid = unauthenticated('auth-failed', 'invalid credentials');
    if (secret === undefined) throw invalid;
    if (p.cb === TLS_EXPORTER && binding === undefined) throw invalid;
    const expected = hmacMac(secret, hmacInput(p.keyId, p.ts, p.nonce, p.cb === TLS_EXPORTER ? binding : undefined));
    if (!timingSafeEqual(expected, p.mac)) throw invalid;
    // Only proofs made with the key reach the clock and the replay cache.
    const verdict = this.replay.check(`${p.keyId}\n${Buffer.from(p.nonce).toString('hex')}`, p.ts * 1000, nowMs);
    if (verdict === 'stale') {
      const skew = Math.round(p.ts - nowMs / 1000);
      throw unauthenticated('auth-expired', `the HMAC timestamp is ${skew} s from the server's clock (accepted: within ${this.windowMs / 1000} s, and newer than the replay cache's oldest entry)`);
    }
    if (verdict === 'replayed') throw unauthenticated('auth-replayed', 'this HMAC proof (nonce) was already used');
    return context(p.keyId, 'hmac');
  }
}
