import { createHmac, randomBytes } from 'node:crypto';

/**
 * Credentials in HELLO (the `auth` key, docs/protocol.md section 6.5). Two schemes:
 *
 * - `token`: a bearer token, compared by the server with the tokens it accepts.
 * - `hmac-sha256-v1`: a one-shot proof of a shared secret, with no extra round trip. The client
 *   sends its key id, the time, a random nonce and HMAC-SHA256(secret, hmacInput(...)); the
 *   secret never travels. The server checks the MAC, that the time is within its window, and
 *   that it has not seen the nonce in that window (a bounded replay cache).
 */
export const TOKEN_SCHEME = 'token';
export const HMAC_SCHEME = 'hmac-sha256-v1';
/** The first line of the string an HMAC proof signs; a new version of the string is a new scheme. */
export const HMAC_LABEL = 'fastpath-hmac-sha256-v1';
/** The only channel-binding type: RFC 9266 `tls-exporter` (32 bytes, label EXPORTER-Channel-Binding). */
export const TLS_EXPORTER = 'tls-exporter';
export const NONCE_BYTES = 16;
export const MAC_BYTES = 32;

export interface TokenAuth {
  scheme: typeof TOKEN_SCHEME;
  token: string;
}

export interface HmacAuth {
  scheme: typeof HMAC_SCHEME;
  keyId: string;
  /** Seconds since the Unix epoch, on the client's clock. */
  ts: number;
  nonce: Uint8Array;
  mac: Uint8Array;
  /** `tls-exporter` when the proof is bound to the TLS session it travels on. */
  cb?: typeof TLS_EXPORTER;
}

export type HelloAuth = TokenAuth | HmacAuth;

/** What a client configures: a bearer token, or an HMAC key it shares with the server. */
export type ClientAuth = { token: string } | { hmac: { keyId: string; secret: string | Uint8Array } };

/** Key ids are printable, without line breaks (they are one line of the signed string). */
export function validKeyId(keyId: unknown): keyId is string {
  return typeof keyId === 'string' && keyId.length >= 1 && keyId.length <= 256 && !/[\u0000-\u001f\u007f]/.test(keyId);
}

function secretBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * The exact string an HMAC proof signs, UTF-8 encoded, lines joined by a single `\n`:
 *
 *     fastpath-hmac-sha256-v1
 *     <keyId>
 *     <ts, decimal seconds>
 *     <nonce, lowercase hex>
 *     <"tls-exporter:" + lowercase hex of the exporter, or empty>
 */
export function hmacInput(keyId: string, ts: number, nonce: Uint8Array, binding: Uint8Array | undefined): string {
  return [HMAC_LABEL, keyId, String(ts), hex(nonce), binding ? `${TLS_EXPORTER}:${hex(binding)}` : ''].join('\n');
}

export function hmacMac(secret: string | Uint8Array, input: string): Buffer {
  return createHmac('sha256', secretBytes(secret)).update(input, 'utf8').digest();
}

/** Builds the HELLO `auth` value for a client. `binding` is the TLS exporter, when the connection is TLS. */
export function helloAuth(auth: ClientAuth, binding: Uint8Array | undefined, nowMs = Date.now(), nonce: Uint8Array = randomBytes(NONCE_BYTES)): HelloAuth {
  if ('token' in auth) {
    if (typeof auth.token !== 'string' || auth.token.length === 0) throw new TypeError('auth.token must be a non-empty string');
    return { scheme: TOKEN_SCHEME, token: auth.token };
  }
  const { keyId, secret } = auth.hmac ?? ({} as { keyId?: unknown; secret?: unknown });
  if (!validKeyId(keyId)) throw new TypeError('auth.hmac.keyId must be 1 to 256 printable characters');
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) throw new TypeError('auth.hmac.secret must be a string or a Uint8Array');
  const ts = Math.floor(nowMs / 1000);
  const mac = hmacMac(secret, hmacInput(keyId, ts, nonce, binding));
  return { scheme: HMAC_SCHEME, keyId, ts, nonce, mac, ...(binding ? { cb: TLS_EXPORTER } : {}) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * Reads the HELLO `auth` value. Returns undefined when there is none, a string naming what is
 * wrong when it is malformed, or `{ unsupported }` for a scheme this side does not know.
 */
export function parseHelloAuth(v: unknown): HelloAuth | undefined | { malformed: string } | { unsupported: string } {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v) || typeof v.scheme !== 'string') return { malformed: 'HELLO auth must be a map with a scheme' };
  if (v.scheme === TOKEN_SCHEME) {
    if (typeof v.token !== 'string' || v.token.length === 0) return { malformed: 'token auth needs a non-empty token' };
    return { scheme: TOKEN_SCHEME, token: v.token };
  }
  if (v.scheme === HMAC_SCHEME) {
    const { keyId, ts, nonce, mac, cb } = v;
    if (!validKeyId(keyId)) return { malformed: 'hmac auth needs a keyId of 1 to 256 printable characters' };
    if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < 0) return { malformed: 'hmac auth needs ts, whole seconds since the epoch' };
    if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) return { malformed: `hmac auth needs a nonce of ${NONCE_BYTES} bytes (bin)` };
    if (!(mac instanceof Uint8Array) || mac.length !== MAC_BYTES) return { malformed: `hmac auth needs a mac of ${MAC_BYTES} bytes (bin)` };
    if (cb !== undefined && cb !== null && cb !== TLS_EXPORTER) return { unsupported: `channel binding "${String(cb).slice(0, 64)}"` };
    return { scheme: HMAC_SCHEME, keyId, ts, nonce, mac, ...(cb === TLS_EXPORTER ? { cb: TLS_EXPORTER } : {}) };
  }
  return { unsupported: `auth scheme "${v.scheme.slice(0, 64)}"` };
}
