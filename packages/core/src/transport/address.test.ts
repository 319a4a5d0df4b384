import { describe, expect, it } from 'vitest';
import { FastpathError } from '../protocol/errors.js';
import { formatAddress, parseAddress } from './address.js';

describe('parseAddress', () => {
  it.each([
    ['tcp://127.0.0.1:7000', { scheme: 'tcp', host: '127.0.0.1', port: 7000 }],
    ['tcp://localhost:0', { scheme: 'tcp', host: 'localhost', port: 0 }],
    ['tcp://[::1]:65535', { scheme: 'tcp', host: '::1', port: 65535 }],
    ['tcp://0.0.0.0:80/', { scheme: 'tcp', host: '0.0.0.0', port: 80 }],
    ['tls://127.0.0.1:7443', { scheme: 'tls', host: '127.0.0.1', port: 7443 }],
    ['TLS://[::1]:443', { scheme: 'tls', host: '::1', port: 443 }],
    ['tls://example.com:443/', { scheme: 'tls', host: 'example.com', port: 443 }],
    ['unix:/run/x.sock', { scheme: 'unix', path: '/run/x.sock' }],
    ['unix:///run/x.sock', { scheme: 'unix', path: '/run/x.sock' }],
    ['unix:rel.sock', { scheme: 'unix', path: 'rel.sock' }],
  ])('%s', (url, expected) => {
    expect(parseAddress(url)).toEqual(expected);
  });

  it.each(['', 'localhost:80', 'tcp://host', 'tcp://::1:80', 'tcp://[::1]80', 'tcp://[zz]:80', 'tcp://h:99999', 'tcp://h:-1', 'unix:', 'tls://host', 'tls://::1:443', 'tls://h:70000'])('rejects %j', (url) => {
    let err: unknown;
    try {
      parseAddress(url);
    } catch (e) {
      err = e;
    }
    expect(FastpathError.is(err)).toBe(true);
    expect((err as FastpathError).code).toBe('INVALID_ARGUMENT');
  });

  it('formats addresses back, with brackets for IPv6', () => {
    expect(formatAddress({ scheme: 'tcp', host: '::1', port: 5 })).toBe('tcp://[::1]:5');
    expect(formatAddress({ scheme: 'tcp', host: '10.0.0.1', port: 5 })).toBe('tcp://10.0.0.1:5');
    expect(formatAddress({ scheme: 'unix', path: '/a' })).toBe('unix:/a');
    expect(formatAddress({ scheme: 'tls', host: '::1', port: 5 })).toBe('tls://[::1]:5');
    expect(formatAddress({ scheme: 'tls', host: 'example.com', port: 443 })).toBe('tls://example.com:443');
  });
});
