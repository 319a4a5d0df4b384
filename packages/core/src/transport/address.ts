import { isIP } from 'node:net';
import { FastpathError } from '../protocol/errors.js';

export type Address =
  | { scheme: 'tcp'; host: string; port: number }
  | { scheme: 'tls'; host: string; port: number }
  | { scheme: 'unix'; path: string }
  | { scheme: string; [key: string]: unknown };

export type TcpAddress = { scheme: 'tcp'; host: string; port: number };
/** TLS over TCP: the same host and port forms as tcp://. */
export type TlsAddress = { scheme: 'tls'; host: string; port: number };
export type UnixAddress = { scheme: 'unix'; path: string };

function invalid(url: string, why: string): FastpathError {
  return new FastpathError('INVALID_ARGUMENT', `invalid address "${url}": ${why}`, { details: { reason: 'bad-address' } });
}

/**
 * Parses `tcp://host:port`, `tcp://[v6]:port`, `tls://host:port`, `tls://[v6]:port` and
 * `unix:/path` (also `unix:///path` and `unix:relative/path`). Other schemes are returned as-is
 * for registered transports.
 */
export function parseAddress(url: string): Address {
  if (typeof url !== 'string' || url.length === 0) throw invalid(String(url), 'expected a string such as tcp://127.0.0.1:7000');
  if (url.startsWith('unix:')) {
    let path = url.slice(5);
    if (path.startsWith('//')) path = path.slice(2);
    if (path.length === 0) throw invalid(url, 'empty socket path');
    return { scheme: 'unix', path };
  }
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url);
  if (!m) throw invalid(url, 'expected scheme://host:port or unix:/path');
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (scheme !== 'tcp' && scheme !== 'tls') return { scheme, url, rest };
  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw invalid(url, 'IPv6 hosts are written [addr]:port');
    host = rest.slice(1, close);
    portText = rest.slice(close + 2);
    if (isIP(host) !== 6) throw invalid(url, `"${host}" is not an IPv6 address`);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon <= 0) throw invalid(url, 'missing :port');
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host.includes(':')) throw invalid(url, 'IPv6 hosts must be in brackets');
  }
  if (portText.endsWith('/')) portText = portText.slice(0, -1);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw invalid(url, `bad port "${portText}"`);
  return { scheme, host, port: Number(portText) } as TcpAddress | TlsAddress;
}

export function formatAddress(a: Address): string {
  if (a.scheme === 'unix') return `unix:${(a as UnixAddress).path}`;
  if (a.scheme === 'tcp' || a.scheme === 'tls') {
    const { host, port } = a as TcpAddress | TlsAddress;
    return isIP(host) === 6 ? `${a.scheme}://[${host}]:${port}` : `${a.scheme}://${host}:${port}`;
  }
  return String((a as { url?: unknown }).url ?? `${a.scheme}://?`);
}
