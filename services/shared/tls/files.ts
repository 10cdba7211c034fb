// A credentials directory: ca.crt (the CA that signs peers), tls.crt (our certificate), tls.key
// (its key): the layout of a cert-manager Secret, so Kubernetes mounts one as is. Checked when a
// process starts, so a wrong file stops it with a message naming the file, not at the first
// handshake.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { identityFromSubjectAltName, type Identity } from './identity.js';

export const CA_FILE = 'ca.crt';
export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';

/** A credentials directory that cannot be used; the message names the file. */
export class TlsConfigError extends Error {}

export interface TlsFiles {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The identity our own certificate carries. */
  readonly identity: Identity;
  /** When our certificate expires. */
  readonly notAfter: Date;
}

function read(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsConfigError(
      `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

/** Three files named one by one instead of a directory (the CNI network configuration's `tls`). */
export interface CredentialPaths {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * Reads and checks a credentials directory (or three named files): both certificates parse, the
 * key matches, an identity is present.
 */
export function checkCredentials(source: string | CredentialPaths, now = Date.now()): TlsFiles {
  const dir = typeof source === 'string' ? source : dirname(source.cert);
  const caFile = typeof source === 'string' ? join(dir, CA_FILE) : source.ca;
  const certFile = typeof source === 'string' ? join(dir, CERT_FILE) : source.cert;
  const keyFile = typeof source === 'string' ? join(dir, KEY_FILE) : source.key;
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = new X509Certificate(read(caFile));
  } catch (err) {
    throw err instanceof TlsConfigError
      ? err
      : new TlsConfigError(`${caFile}: not a PEM certificate (${(err as Error).message})`);
  }
  try {
    cert = new X509Certificate(read(certFile));
  } catch (err) {
    throw err instanceof TlsConfigError
      ? err
      : new TlsConfigError(`${certFile}: not a PEM certificate (${(err as Error).message})`);
  }
  let key;
  try {
    key = createPrivateKey(read(keyFile));
  } catch (err) {
    throw err instanceof TlsConfigError
      ? err
      : new TlsConfigError(`${keyFile}: not a PEM private key (${(err as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) throw new TlsConfigError(`${keyFile}: is not the key of ${certFile}`);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    throw new TlsConfigError(`${certFile}: was not issued by the CA in ${caFile}`);
  const identity = identityFromSubjectAltName(cert.subjectAltName);
  if (!identity)
    throw new TlsConfigError(
      `${certFile}: carries no meshless identity (a URI SAN meshless://ROLE/NAME; see meshless certs issue)`,
    );
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() < now) throw new TlsConfigError(`${certFile}: expired on ${notAfter.toISOString()}`);
  return { dir, caFile, certFile, keyFile, identity, notAfter };
}
