// Test certificates, made with Debian's `openssl` command in a temporary directory: a CA, a
// server certificate for the loopback addresses, a second server certificate for SNI, a client
// certificate for mutual TLS, a certificate from a CA nobody trusts, an expired one and a
// self-signed one.
// EC P-256 keys: each `openssl` run takes a few milliseconds, so a test file makes its own set.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestCerts {
  /** The CA every certificate below is signed by (except `rogue`). */
  ca: string;
  /** SAN IP:127.0.0.1, IP:::1, DNS:localhost; serverAuth. */
  server: KeyPair;
  /** SAN DNS:sni.test only: what the server must present when a client asks for that name. */
  sni: KeyPair;
  /** CN=test-client; clientAuth. */
  client: KeyPair;
  /** Same SANs as `server` (and clientAuth too), but signed by a CA that no test trusts. */
  rogue: KeyPair & { ca: string };
  /** Same SANs as `server`, signed by `ca`, valid only in January 2020. */
  expired: KeyPair;
  /** Same SANs as `server`, signed by its own key. */
  selfSigned: KeyPair;
}

export const SNI_NAME = 'sni.test';

const EXTENSIONS = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
[sni_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:${SNI_NAME}
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[rogue_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
`;

/** `openssl ca` needs a config with its database; used only to back-date the expired certificate. */
const caConfig = (dir: string): string => `
[ca]
default_ca = test_ca
[test_ca]
database = ${dir}/index.txt
new_certs_dir = ${dir}/issued
serial = ${dir}/serial
certificate = ${dir}/ca.crt
private_key = ${dir}/ca.key
default_md = sha256
policy = any_name
unique_subject = no
x509_extensions = server_ext
[any_name]
commonName = supplied
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
`;

/**
 * Creates a fresh set of certificates, as PEM strings. The files live only while they are made:
 * the directory is removed before this returns, so a test run that is killed leaves nothing behind.
 * Throws when `openssl` is missing.
 */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'fastpath-certs-'));
  const f = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  try {
    writeFileSync(f('ext.cnf'), EXTENSIONS);
    const newKey = (name: string): void => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f(`${name}.key`));
    const selfSignedCa = (name: string, cn: string): void => {
      newKey(name);
      openssl('req', '-x509', '-new', '-key', f(`${name}.key`), '-subj', `/CN=${cn}`, '-days', '2', '-config', f('ext.cnf'), '-extensions', 'ca_ext', '-out', f(`${name}.crt`));
    };
    const issue = (name: string, cn: string, ext: string, caName: string): void => {
      newKey(name);
      openssl('req', '-new', '-key', f(`${name}.key`), '-subj', `/CN=${cn}`, '-config', f('ext.cnf'), '-out', f(`${name}.csr`));
      openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${caName}.crt`), '-CAkey', f(`${caName}.key`), '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-extensions', ext, '-out', f(`${name}.crt`));
    };
    selfSignedCa('ca', 'fastpath test CA');
    selfSignedCa('rogue-ca', 'fastpath rogue CA');
    issue('server', 'localhost', 'server_ext', 'ca');
    issue('sni', SNI_NAME, 'sni_ext', 'ca');
    issue('client', 'test-client', 'client_ext', 'ca');
    issue('rogue', 'localhost', 'rogue_ext', 'rogue-ca');
    newKey('self');
    openssl('req', '-x509', '-new', '-key', f('self.key'), '-subj', '/CN=localhost', '-days', '2', '-config', f('ext.cnf'), '-extensions', 'server_ext', '-out', f('self.crt'));

    // Expired: openssl ca can set both dates; the certificate was valid for one day in 2020.
    mkdirSync(f('issued'));
    writeFileSync(f('index.txt'), '');
    writeFileSync(f('serial'), '1000\n');
    writeFileSync(f('ca.cnf'), caConfig(dir));
    newKey('expired');
    openssl('req', '-new', '-key', f('expired.key'), '-subj', '/CN=localhost', '-config', f('ext.cnf'), '-out', f('expired.csr'));
    openssl('ca', '-batch', '-notext', '-config', f('ca.cnf'), '-in', f('expired.csr'), '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-out', f('expired.crt'));
    const read = (name: string): string => readFileSync(f(name), 'utf8');
    const pair = (name: string): KeyPair => ({ cert: read(`${name}.crt`), key: read(`${name}.key`) });
    return {
      ca: read('ca.crt'),
      server: pair('server'),
      sni: pair('sni'),
      client: pair('client'),
      rogue: { ...pair('rogue'), ca: read('rogue-ca.crt') },
      expired: pair('expired'),
      selfSigned: pair('self'),
    };
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`could not make test certificates with openssl: ${(err as Error).message}\n${stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
