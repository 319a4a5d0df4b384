import { FastpathError } from '../protocol/errors.js';
import { ClientSession } from '../session/client-session.js';
import { currentUid, hostIdentity } from '../transport/host-identity.js';
import { parseAddress } from '../transport/address.js';
import { getTransport } from '../transport/registry.js';
import type { ClientOptions } from './client-options.js';
import { clientTiers, localTiers, tierOptions } from './fast-path.js';
import { DEFAULTS, resolveCommon } from './options.js';

/**
 * One attempt: one address, the handshake and the fast-path negotiation. `attach` runs as soon as
 * the session exists (before the handshake), so its events (the path, a GOAWAY) are not missed.
 * If the attempt fails the session is closed and the error thrown.
 */
export async function openSession(url: string, options: ClientOptions, attach: (session: ClientSession) => void): Promise<ClientSession> {
  const common = resolveCommon(options);
  const address = parseAddress(url);
  const transport = getTransport(address.scheme);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  const mode = options.fastPath ?? 'auto';
  const local = mode === 'off' ? undefined : await localTiers(options);
  const conn = await transport.connect(address, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}), ...(options.tls ? { tls: options.tls } : {}) });
  const offer = clientTiers(local, conn, options.tlsLocal);
  const session = new ClientSession(conn, {
    maxFrameBytes: common.maxFrameBytes,
    keepalive: { intervalMs: common.keepaliveMs, timeoutMs: common.keepaliveTimeoutMs },
    handshakeTimeoutMs: common.handshakeTimeoutMs,
    ...(options.metadata ? { helloMeta: options.metadata } : {}),
    ...(options.echo === false ? { helloExtra: { echo: false } } : {}),
    ...(options.auth ? { auth: options.auth } : {}),
    fastPath: {
      mode,
      host: hostIdentity().id,
      uid: currentUid(),
      tiers: offer.tiers,
      unavailable: offer.unavailable,
      ...(offer.tlsLocal ? { tlsLocal: offer.tlsLocal } : {}),
      tierOptions: tierOptions(options),
      upgradeTimeoutMs: options.upgradeTimeoutMs ?? DEFAULTS.upgradeTimeoutMs,
    },
  });
  attach(session);
  await session.ready;
  if (options.waitForFastPath !== false) {
    await session.pathSettled;
    if (session.state === 'closed') throw session.closeReason ?? new FastpathError('UNAVAILABLE', 'connection closed during the fast-path negotiation');
  }
  return session;
}
