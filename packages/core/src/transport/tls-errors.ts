import { FastpathError } from '../protocol/errors.js';

/** A short explanation for the TLS failures people meet most; the OpenSSL code is always kept. */
const HINTS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed and not trusted (give its CA in tls.ca)',
  SELF_SIGNED_CERT_IN_CHAIN: 'the certificate chain ends in a CA that is not trusted (give it in tls.ca)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate is not signed by a trusted CA (give the CA in tls.ca)',
  UNABLE_TO_GET_ISSUER_CERT: 'the certificate is not signed by a trusted CA (give the CA in tls.ca)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate is not signed by a trusted CA (give the CA in tls.ca)',
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet',
  CERT_REVOKED: 'the certificate was revoked',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'the server requires a client certificate (give tls.cert and tls.key)',
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'the client sent no certificate, and this server requires one',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the peer does not speak TLS (a tcp:// peer on a tls:// address, or the reverse?)',
  ERR_SSL_HTTP_REQUEST: 'the peer sent plain HTTP, not TLS',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the peer does not trust the CA of our certificate',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the peer rejected our certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'the peer says our certificate has expired',
  ERR_SSL_NO_SHARED_CIPHER: 'no cipher in common (or no certificate for the requested server name)',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'no TLS version in common',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'no TLS version in common',
};

/** OpenSSL certificate-verification codes as node reports them (X509_V_ERR_* without the prefix). */
const VERIFY_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|INVALID_|PATH_LENGTH_|HOSTNAME_MISMATCH|IP_ADDRESS_MISMATCH|EMAIL_MISMATCH)/;

/** True for errors that come from TLS itself rather than from the TCP connection under it. */
export function isTlsError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || VERIFY_CODES.test(code));
}

/** The most useful text in a TLS error: OpenSSL's short `reason` rather than its long message. */
function reasonText(err: Error, code: string): string {
  const hint = HINTS[code];
  if (hint) return hint;
  const reason = (err as { reason?: unknown }).reason;
  if (typeof reason === 'string' && reason.length > 0) return reason;
  return err.message;
}

/**
 * A TLS failure as fastpath reports it: UNAVAILABLE, `details.reason: 'tls-failed'` and
 * `details.tlsCode`, the code node gives (an OpenSSL verification code such as
 * `DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`, an `ERR_SSL_*` alert, or the
 * errno of a connection that broke during the handshake).
 *
 * `what` names the peer and the phase, e.g. `TLS handshake with tls://127.0.0.1:7443`.
 */
export function tlsFailure(err: Error, what: string, hint?: string): FastpathError {
  const code = (err as NodeJS.ErrnoException).code ?? 'UNKNOWN';
  const text = hint ?? reasonText(err, code);
  return new FastpathError('UNAVAILABLE', `${what} failed: ${text} (${code})`, {
    cause: err,
    details: { reason: 'tls-failed', tlsCode: code },
  });
}

/** A client certificate the server did not accept (node's server closes without an alert). */
export function clientCertRejected(code: string, what: string): FastpathError {
  const text = HINTS[code] ?? 'the certificate did not verify';
  return new FastpathError('UNAVAILABLE', `${what} failed: the client's certificate was rejected: ${text} (${code})`, {
    details: { reason: 'tls-failed', tlsCode: code },
  });
}
