import { FastpathError } from '../protocol/errors.js';
import { tcpTransport, unixTransport } from './net-transport.js';
import { tlsTransport } from './tls-transport.js';
import type { TransportFactory } from './types.js';
import { udsTier } from './uds-tier.js';
import { registerUpgradeTier } from './upgrade-tier.js';

registerUpgradeTier(udsTier);

const transports = new Map<string, TransportFactory>([
  ['tcp', tcpTransport],
  ['tls', tlsTransport],
  ['unix', unixTransport],
]);

/** Registers (or replaces) the transport for a URL scheme. Used by @fastpath/native. */
export function registerTransport(factory: TransportFactory): void {
  transports.set(factory.scheme, factory);
}

export function getTransport(scheme: string): TransportFactory {
  const t = transports.get(scheme);
  if (!t) {
    throw new FastpathError('INVALID_ARGUMENT', `no transport for scheme "${scheme}" (known: ${[...transports.keys()].join(', ')})`, {
      details: { reason: 'unknown-scheme' },
    });
  }
  return t;
}

export function registeredSchemes(): string[] {
  return [...transports.keys()];
}
