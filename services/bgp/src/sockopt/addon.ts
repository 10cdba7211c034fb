// Loads the native socket-option addon (services/bgp/native, built by infra/install.sh). It is
// loaded once, lazily; when it is missing or stale the reason is kept, and every peer that needs
// TCP-MD5 or GTSM stays down with that reason instead of coming up without protection.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's API (services/bgp/native/sockopt.c); every descriptor is a TCP socket. */
export interface SockoptAddon {
  readonly abi: number;
  connect(
    options: {
      host: string;
      port: number;
      localAddress?: string;
      md5Key?: Buffer;
      ttl?: number;
      minTtl?: number;
      timeoutMs: number;
    },
    callback: (err: NodeJS.ErrnoException | null, fd?: number) => void,
  ): void;
  /** Installs (key) or removes (null) the TCP-MD5 key for one peer address. */
  setMd5(fd: number, address: string, key: Buffer | null): void;
  /** Outgoing TTL / hop limit and the lowest accepted one; 0 leaves either unchanged. */
  setTtl(fd: number, ttl: number, minTtl: number): void;
  /** TCP_SAVE_SYN on a listener. */
  saveSyn(fd: number): void;
  /** TTL of the SYN that opened an accepted connection, -1 when it was not saved. */
  savedSynTtl(fd: number): number;
}

/** The ABI the TypeScript side speaks (SOCKOPT_ABI in sockopt.c). */
const EXPECTED_ABI = 1;
const FILE = 'meshless_sockopt.node';

/**
 * Where the binary may be: MESHLESS_SOCKOPT_ADDON, else in a directory above this module: the
 * source tree's services/bgp/native/build/, or the file itself beside a bundle (dist/, where
 * infra/build.mjs's chunks live and the container image copies it).
 */
function candidates(): string[] {
  const out: string[] = [];
  if (process.env.MESHLESS_SOCKOPT_ADDON) out.push(process.env.MESHLESS_SOCKOPT_ADDON);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    out.push(
      join(dir, 'native', 'build', FILE),
      join(dir, 'services', 'bgp', 'native', 'build', FILE),
      join(dir, FILE),
    );
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

let loaded: { addon: SockoptAddon } | { reason: string } | undefined;

function load(): { addon: SockoptAddon } | { reason: string } {
  if (process.platform !== 'linux')
    return { reason: `TCP-MD5 and GTSM are implemented for Linux only (this is ${process.platform})` };
  const path = candidates().find((p) => existsSync(p));
  if (!path)
    return {
      reason: `the native socket-option addon is not built (no services/bgp/native/build/${FILE} above ${fileURLToPath(import.meta.url)}): run bash infra/install.sh`,
    };
  try {
    const addon = createRequire(import.meta.url)(path) as SockoptAddon;
    if (addon.abi !== EXPECTED_ABI)
      return {
        reason: `the native socket-option addon at ${path} is stale (ABI ${addon.abi}, need ${EXPECTED_ABI}): run bash infra/install.sh`,
      };
    return { addon };
  } catch (err) {
    return { reason: `the native socket-option addon at ${path} does not load: ${(err as Error).message}` };
  }
}

/** The addon, or why there is none. */
export function sockoptAddon(): { addon: SockoptAddon } | { reason: string } {
  loaded ??= load();
  return loaded;
}
