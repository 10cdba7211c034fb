// A small local certificate authority: `meshless certs init` makes the CA, `meshless certs issue`
// a certificate for one identity. Keys are ECDSA P-256 (RFC 5480), signed with SHA-256.
//
// Why @peculiar/x509 (pinned) and not the alternatives: node:crypto parses certificates but cannot
// sign one; node-forge signs only with RSA, and an RSA-2048 signature per TLS handshake costs the
// sync server roughly ten times an ECDSA P-256 one when thousands of agents reconnect at once;
// shelling out to `openssl` needs the binary in every image and on every developer machine and
// turns its errors into text to parse. @peculiar/x509 builds the DER in JavaScript and signs with
// Node's own WebCrypto. It is imported only by the `certs` commands (it needs the reflect-metadata
// polyfill, which we keep out of the services).
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { identityUri, type Identity } from './identity.js';
import { CA_FILE, CERT_FILE, KEY_FILE } from './files.js';

type X509 = typeof import('@peculiar/x509');

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface PemPair {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key (PKCS #8). */
  readonly key: string;
}

export interface IssueOptions {
  readonly identity: Identity;
  /** Validity in days from now (default 365). */
  readonly days?: number;
  /** Explicit validity window (tests make expired certificates with it). */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Extra DNS names or IP addresses, for tools that check the host name. */
  readonly hosts?: readonly string[];
}

let loaded: Promise<X509> | undefined;
function x509(): Promise<X509> {
  loaded ??= (async () => {
    await import('reflect-metadata');
    const mod = await import('@peculiar/x509');
    // A bundle (esbuild) may hand the CommonJS build over as `default`.
    const lib = ('cryptoProvider' in mod ? mod : (mod as unknown as { default: X509 }).default) as X509;
    lib.cryptoProvider.set(webcrypto as unknown as Parameters<X509['cryptoProvider']['set']>[0]);
    return lib;
  })();
  return loaded;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // RFC 5280 §4.1.2.2: a positive integer
  return b.toString('hex');
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

function derOf(text: string): Buffer {
  return Buffer.from(text.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** A self-signed CA certificate and its key. */
export async function createCa(options: { name?: string; days?: number } = {}): Promise<PemPair> {
  const x = await x509();
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${options.name ?? 'meshless-ca'}, O=meshless`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.days ?? 3650) * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x.BasicConstraintsExtension(true, 0, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign, true),
      await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    cert: cert.toString('pem') + '\n',
    key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/** A certificate for one identity (client and server use), signed by `ca`. */
export async function issueCertificate(ca: PemPair, options: IssueOptions): Promise<PemPair> {
  const x = await x509();
  const caCert = new x.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', derOf(ca.key), ALGORITHM, false, ['sign']);
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + (options.days ?? 365) * DAY_MS);
  const names: Array<{ type: 'url' | 'dns' | 'ip'; value: string }> = [
    { type: 'url', value: identityUri(options.identity) },
  ];
  for (const h of options.hosts ?? []) names.push({ type: isIP(h) ? 'ip' : 'dns', value: h });
  const { role, name } = options.identity;
  const cert = await x.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${name}, OU=${role}, O=meshless`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x.BasicConstraintsExtension(false, undefined, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature | x.KeyUsageFlags.keyAgreement, true),
      new x.ExtendedKeyUsageExtension([x.ExtendedKeyUsage.serverAuth, x.ExtendedKeyUsage.clientAuth]),
      new x.SubjectAlternativeNameExtension(names),
      await x.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return {
    cert: cert.toString('pem') + '\n',
    key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/**
 * Writes a credentials directory in the layout of a cert-manager Secret (ca.crt, tls.crt,
 * tls.key), the key readable by its owner only. Files are replaced by rename, so a service that
 * reloads them never reads half a file.
 */
export function writeCredentials(dir: string, files: { ca: string; cert: string; key: string }): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const put = (name: string, text: string, mode: number) => {
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, text, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, join(dir, name));
  };
  put(KEY_FILE, files.key, 0o600);
  put(CERT_FILE, files.cert, 0o644);
  put(CA_FILE, files.ca, 0o644);
}

/** Days until `certPem` expires (negative once expired). */
export function daysLeft(certPem: string, now = Date.now()): number {
  return Math.floor((new Date(new X509Certificate(certPem).validTo).getTime() - now) / DAY_MS);
}

export const CA_KEY_FILE = 'ca.key';

/** Writes a CA directory: ca.crt and ca.key (owner-only). */
export function writeCa(dir: string, ca: PemPair): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, CA_KEY_FILE), ca.key, { mode: 0o600 });
  chmodSync(join(dir, CA_KEY_FILE), 0o600);
  writeFileSync(join(dir, CA_FILE), ca.cert, { mode: 0o644 });
}

/** Reads a CA directory written by writeCa; undefined when there is none. */
export function readCa(dir: string): PemPair | undefined {
  if (!existsSync(join(dir, CA_FILE)) || !existsSync(join(dir, CA_KEY_FILE))) return undefined;
  return { cert: readFileSync(join(dir, CA_FILE), 'utf8'), key: readFileSync(join(dir, CA_KEY_FILE), 'utf8') };
}
