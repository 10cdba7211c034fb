// GoBGP as a test peer: `gobgpd -f CONF -t toml -p --pprof-disable --api-hosts ADDR:PORT`,
// driven and queried with the `gobgp` CLI's JSON output. GoBGP is slow with large tables: keep
// its interop tables small. MESHLESS_GOBGP_LOG_LEVEL=debug makes gobgpd log its FSM transitions.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../shared/testing/index.js';
import { makeDaemonDir, pollDaemon, runControl, spawnDaemon, untilServing, type DaemonProcess } from './daemon.js';
import type { Netns } from './netns.js';

export const GOBGPD_BIN = process.env.MESHLESS_GOBGPD ?? 'gobgpd';
export const GOBGP_BIN = process.env.MESHLESS_GOBGP ?? 'gobgp';

export interface GobgpOptions {
  netns?: Netns;
  /** The address of the API listener (and usually `local-address-list` in the config). */
  address: string;
  /** gobgpd.toml. */
  config: string;
  /** gRPC API port; default 50051 inside a namespace (each daemon has its own address there), else a free port. */
  apiPort?: number;
}

/** One path of `gobgp -j global rib`, attributes keyed by attribute type code. */
export interface GobgpPath {
  prefix: string;
  best: boolean;
  stale: boolean;
  /** type → the attribute's JSON (e.g. 4 → {type:4, metric:50}, 8 → {communities:[…]}). */
  attrs: Map<number, Record<string, unknown>>;
  raw: Record<string, unknown>;
}

export interface GobgpNeighbor {
  address: string;
  /** GoBGP's session state: `established`, `active`, `idle`, `opensent`, ... */
  state: string;
  raw: Record<string, unknown>;
}

export interface GobgpHandle {
  readonly address: string;
  readonly process: DaemonProcess;
  gobgp(...args: string[]): Promise<string>;
  rib(family?: 'ipv4' | 'ipv6'): Promise<GobgpPath[]>;
  neighbor(address: string): Promise<GobgpNeighbor | undefined>;
  waitForState(address: string, state: string, timeoutMs?: number): Promise<GobgpNeighbor>;
  /** `gobgp global rib add PREFIX ARGS... -a FAMILY`. */
  addRoute(prefix: string, args: readonly string[], family?: 'ipv4' | 'ipv6'): Promise<void>;
  stop(options?: { signal?: NodeJS.Signals }): Promise<void>;
}

const STATES: Record<number, string> = {
  0: 'unknown',
  1: 'idle',
  2: 'connect',
  3: 'active',
  4: 'opensent',
  5: 'openconfirm',
  6: 'established',
};

export async function startGobgp(options: GobgpOptions): Promise<GobgpHandle> {
  const dir = makeDaemonDir('gobgp');
  const confPath = join(dir, 'gobgpd.toml');
  writeFileSync(confPath, options.config);
  const apiPort = options.apiPort ?? (options.netns ? 50051 : await freePort(options.address));
  const api = `${options.address.includes(':') ? `[${options.address}]` : options.address}:${apiPort}`;
  const proc = spawnDaemon(
    'gobgp',
    dir,
    GOBGPD_BIN,
    [
      '-f',
      confPath,
      '-t',
      'toml',
      '-l',
      process.env.MESHLESS_GOBGP_LOG_LEVEL ?? 'info',
      '-p',
      '--pprof-disable',
      '--api-hosts',
      api,
    ],
    options.netns,
  );

  const gobgp = (...args: string[]): Promise<string> =>
    runControl(
      GOBGP_BIN,
      ['-u', options.address, '-p', String(apiPort), ...args],
      `gobgp ${args.join(' ')}`,
      options.netns,
    );
  await untilServing(proc, 'gobgpd', 'GoBGP API', async () => (await gobgp('global')).includes('AS'), 10_000);

  const handle: GobgpHandle = {
    address: options.address,
    process: proc,
    gobgp,
    async rib(family = 'ipv4') {
      const out = (await gobgp('-j', 'global', 'rib', '-a', family)).trim();
      if (!out || out === 'null') return [];
      const table = JSON.parse(out) as Record<string, Record<string, unknown>[]>;
      return Object.entries(table).flatMap(([prefix, paths]) =>
        paths.map((p) => ({
          prefix,
          best: p.best === true,
          stale: p.stale === true,
          attrs: new Map(((p.attrs ?? []) as Record<string, unknown>[]).map((a) => [Number(a.type), a])),
          raw: p,
        })),
      );
    },
    async neighbor(address) {
      const out = (await gobgp('-j', 'neighbor')).trim();
      const list = (out && out !== 'null' ? JSON.parse(out) : []) as Record<string, unknown>[];
      for (const n of list) {
        const conf = (n.conf ?? {}) as Record<string, unknown>;
        const state = (n.state ?? {}) as Record<string, unknown>;
        if (conf.neighbor_address !== address && state.neighbor_address !== address) continue;
        const s = state.session_state;
        return { address, state: typeof s === 'number' ? (STATES[s] ?? String(s)) : String(s ?? 'unknown'), raw: n };
      }
      return undefined;
    },
    waitForState(address, state, timeoutMs = 30_000) {
      const probe = async () => {
        const n = await handle.neighbor(address);
        return n?.state === state ? n : undefined;
      };
      return pollDaemon(proc, 'gobgpd', `GoBGP neighbor ${address} in state ${state}`, probe, timeoutMs);
    },
    async addRoute(prefix, args, family = 'ipv4') {
      await gobgp('global', 'rib', '-a', family, 'add', prefix, ...args);
    },
    async stop({ signal } = {}) {
      await proc.stop(signal ? { signal } : {});
    },
  };
  return handle;
}
