// Where a client finds its credentials, the way kubectl finds its kubeconfig: the --credentials
// flag, else MESHLESS_CREDENTIALS, else the directory under the user's configuration directory
// (`$XDG_CONFIG_HOME/meshless/credentials`, by default `~/.config/meshless/credentials`) when it
// holds a certificate. `none` anywhere means plain text. Nothing found: plain text too (a client
// of an `--insecure` set-up needs no configuration).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CERT_FILE } from './files.js';

export function defaultCredentialsDir(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(config, 'meshless', 'credentials');
}

export interface ResolvedCredentials {
  /** The directory to use, or undefined for plain text. */
  readonly dir: string | undefined;
  /** Where the choice came from, for messages. */
  readonly source: string;
}

export function resolveClientCredentials(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedCredentials {
  const explicit = (value: string, source: string): ResolvedCredentials => ({
    dir: value === 'none' ? undefined : value,
    source,
  });
  if (flag !== undefined && flag !== '') return explicit(flag, '--credentials');
  const fromEnv = env.MESHLESS_CREDENTIALS;
  if (fromEnv !== undefined && fromEnv !== '') return explicit(fromEnv, 'MESHLESS_CREDENTIALS');
  const dir = defaultCredentialsDir(env);
  if (existsSync(join(dir, CERT_FILE))) return { dir, source: dir };
  return { dir: undefined, source: 'no credentials found (plain text)' };
}
