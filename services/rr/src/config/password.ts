// Where a peer's TCP-MD5 key comes from. Never from the configuration itself: rr.yaml and the
// datastore are read by more people and tools than should know the key.
//
//   standalone (rr.yaml)   password: { file: /etc/meshless/rack-a.key }   (relative: to rr.yaml)
//                          password: { env: RR_RACK_A_PASSWORD }
//   datastore mode         BGPPeer spec.password.secretKeyRef {name, key} → the file
//                          <secrets dir>/<name>/<key>: a Kubernetes Secret `name` mounted as a
//                          volume at <secrets dir>/<name> has exactly this layout.
//
// One trailing newline is dropped (`echo key > file` writes one); the key is otherwise taken as
// is, 1 to 80 octets (the Linux TCP_MD5SIG limit, as in BIRD and FRR). The key never appears in
// an error or a log line.
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** Linux TCP_MD5SIG_MAXKEYLEN. */
export const MAX_KEY_OCTETS = 80;

/** Default directory for datastore-mode secrets (`--bgp-secrets-dir`, MESHLESS_BGP_SECRETS_DIR). */
export const DEFAULT_SECRETS_DIR = '/etc/meshless/bgp-secrets';

export type KeyResult = { key: Buffer } | { error: string };

function fromText(text: Buffer, where: string): KeyResult {
  let end = text.length;
  if (end > 0 && text[end - 1] === 0x0a) end--;
  if (end > 0 && text[end - 1] === 0x0d) end--;
  const key = text.subarray(0, end);
  if (key.length < 1 || key.length > MAX_KEY_OCTETS)
    return { error: `${where} holds ${key.length} octets; a TCP-MD5 key is 1 to ${MAX_KEY_OCTETS}` };
  return { key: Buffer.from(key) };
}

export function keyFromFile(path: string): KeyResult {
  try {
    return fromText(readFileSync(path), `key file ${path}`);
  } catch (err) {
    return { error: `cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

export function keyFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): KeyResult {
  const v = env[name];
  if (v === undefined || v === '') return { error: `environment variable ${name} is not set` };
  return fromText(Buffer.from(v, 'utf8'), `environment variable ${name}`);
}

/** A Calico secretKeyRef resolved against a directory of mounted secrets. */
export function keyFromSecret(dir: string, ref: { name: string; key: string }): KeyResult {
  // Names are validated as Kubernetes names by the datastore; still, never leave the directory.
  const plain = (x: string): boolean => x !== '' && x !== '.' && x !== '..' && !x.includes('/');
  if (!plain(ref.name) || !plain(ref.key)) return { error: `secret ${ref.name} key ${ref.key}: not a plain name` };
  const r = keyFromFile(join(dir, ref.name, ref.key));
  return 'error' in r ? { error: `secret ${ref.name} key ${ref.key}: ${r.error}` } : r;
}

/** A relative key file is read from the directory of the configuration that names it. */
export function keyPath(path: string, baseDir: string | undefined): string {
  return isAbsolute(path) || !baseDir ? path : resolve(baseDir, path);
}
