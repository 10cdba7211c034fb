// `npm start`'s certificates: a local CA under the data directory and one credentials directory
// per process (services/shared/tls), made on the first start and re-made when missing, close to
// expiry or signed by another CA. The admin's credentials are also copied where the CLI finds
// them without configuration (~/.config/meshless/credentials, as kind writes a kubeconfig), unless
// that directory holds credentials someone else put there.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CA_FILE,
  CERT_FILE,
  createCa,
  daysLeft,
  defaultCredentialsDir,
  issueCertificate,
  readCa,
  writeCa,
  writeCredentials,
  type Identity,
  type PemPair,
} from '../../services/shared/tls/index.js';

/** Marks a user credentials directory as written by `npm start` (so a later start may replace it). */
const MARKER = '.written-by-npm-start';
const RENEW_DAYS = 30;

export interface ClusterPki {
  readonly dir: string;
  /** The credentials directory of `name` (issued by ensure()). */
  credentials(name: string): string;
}

async function ensureOne(ca: PemPair, dir: string, identity: Identity, hosts: readonly string[]): Promise<boolean> {
  const certFile = join(dir, CERT_FILE);
  if (existsSync(certFile) && existsSync(join(dir, CA_FILE))) {
    const current = readFileSync(certFile, 'utf8');
    if (readFileSync(join(dir, CA_FILE), 'utf8') === ca.cert && daysLeft(current) > RENEW_DAYS) return false;
  }
  const issued = await issueCertificate(ca, { identity, days: 365, hosts });
  writeCredentials(dir, { ca: ca.cert, cert: issued.cert, key: issued.key });
  return true;
}

/**
 * Makes the CA (first start) and a certificate for every identity, each in `dataDir/pki/<name>`.
 * Returns what it did, for the terminal.
 */
export async function ensurePki(
  dataDir: string,
  identities: ReadonlyArray<{ dir: string; identity: Identity; hosts?: readonly string[] }>,
  say: (line: string) => void,
): Promise<ClusterPki> {
  const dir = join(dataDir, 'pki');
  const caDir = join(dir, 'ca');
  let ca = readCa(caDir);
  if (!ca) {
    ca = await createCa({ name: 'meshless-local-ca' });
    writeCa(caDir, ca);
    say(`pki: created a local CA in ${caDir}`);
  }
  let issued = 0;
  for (const { dir: name, identity, hosts } of identities)
    if (await ensureOne(ca, join(dir, name), identity, hosts ?? [])) issued++;
  if (issued > 0) say(`pki: issued ${issued} certificate(s) under ${dir}`);
  return { dir, credentials: (name) => join(dir, name) };
}

/**
 * Copies the admin credentials to the CLI's default directory when it is free or ours; returns
 * where the CLI will find them, or a hint when it will not.
 */
export function installAdminCredentials(adminDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const target = defaultCredentialsDir(env);
  const ours = !existsSync(join(target, CERT_FILE)) || existsSync(join(target, MARKER));
  if (!ours)
    return `pki: ${target} holds other credentials; point the CLI at this cluster with MESHLESS_CREDENTIALS=${adminDir}`;
  const read = (f: string) => readFileSync(join(adminDir, f), 'utf8');
  if (existsSync(join(target, CERT_FILE)) && readFileSync(join(target, CERT_FILE), 'utf8') === read(CERT_FILE))
    return `pki: the CLI uses the admin credentials in ${target}`;
  writeCredentials(target, { ca: read(CA_FILE), cert: read(CERT_FILE), key: read('tls.key') });
  writeFileSync(join(target, MARKER), `${adminDir}\n`);
  return `pki: admin credentials for the CLI written to ${target}`;
}
