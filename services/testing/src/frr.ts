// FRR bgpd as a test peer, without zebra: `bgpd -Z -S -P 0 -l ADDR -p PORT -f CONF -i PIDFILE
// --vty_socket DIR`, queried through vtysh's JSON output.
// Config rules learned the hard way: FRR enforces RFC 8212 (add `no bgp ebgp-requires-policy`),
// activates IPv4 for every neighbor unless `no bgp default ipv4-unicast`, needs
// `no bgp network import-check` for `network` statements without zebra, and ignores a
// `network ... route-map X` whose route-map is defined later in the file (define route-maps first).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDaemonDir, pollDaemon, runControl, spawnDaemon, untilServing, type DaemonProcess } from './daemon.js';
import type { Netns } from './netns.js';

export const FRR_BGPD_BIN = process.env.MESHLESS_FRR_BGPD ?? '/usr/lib/frr/bgpd';
export const VTYSH_BIN = process.env.MESHLESS_VTYSH ?? 'vtysh';

export interface FrrOptions {
  netns?: Netns;
  /** The address bgpd listens on (-l). */
  address: string;
  /** More addresses to listen on (one more -l each), e.g. the IPv6 one. */
  alsoListenOn?: readonly string[];
  /** BGP listen port; default 179. */
  port?: number;
  /** bgpd.conf without the `log file` line, which is added. */
  config: string;
}

/** One path of `show bgp <afi> unicast <prefix> json`, the fields tests look at. */
export interface FrrPath {
  valid: boolean;
  bestpath: boolean;
  stale: boolean;
  nexthop: string | undefined;
  asPath: string;
  origin: string | undefined;
  med: number | undefined;
  localPref: number | undefined;
  communities: string[];
  largeCommunities: string[];
  raw: Record<string, unknown>;
}

export interface FrrNeighbor {
  address: string;
  state: string;
  raw: Record<string, unknown>;
}

export interface FrrHandle {
  readonly address: string;
  readonly process: DaemonProcess;
  vtysh(...commands: string[]): Promise<string>;
  /** `show bgp <afi> unicast json`: prefix → number of paths. */
  prefixes(afi?: 'ipv4' | 'ipv6'): Promise<Map<string, number>>;
  /** `show bgp <afi> unicast <prefix> json` paths, or [] when the prefix is absent. */
  route(prefix: string, afi?: 'ipv4' | 'ipv6'): Promise<FrrPath[]>;
  neighbor(address: string): Promise<FrrNeighbor | undefined>;
  waitForState(address: string, state: string, timeoutMs?: number): Promise<FrrNeighbor>;
  /** Runs configuration lines under `configure terminal`. */
  configure(lines: readonly string[]): Promise<void>;
  stop(options?: { signal?: NodeJS.Signals }): Promise<void>;
}

export async function startFrr(options: FrrOptions): Promise<FrrHandle> {
  const dir = makeDaemonDir('frr');
  const confPath = join(dir, 'bgpd.conf');
  const logPath = join(dir, 'bgpd.log');
  writeFileSync(confPath, `log file ${logPath}\n${options.config}\n`);
  const listen = [options.address, ...(options.alsoListenOn ?? [])].flatMap((a) => ['-l', a]);
  const args = [
    '-Z',
    '-S',
    '-P',
    '0',
    ...listen,
    '-p',
    String(options.port ?? 179),
    '-f',
    confPath,
    '-i',
    join(dir, 'bgpd.pid'),
    '--vty_socket',
    dir,
  ];
  const proc = spawnDaemon('frr', dir, FRR_BGPD_BIN, args, options.netns, logPath);

  const vtysh = (...commands: string[]): Promise<string> =>
    runControl(
      VTYSH_BIN,
      ['--vty_socket', dir, ...commands.flatMap((c) => ['-c', c])],
      `vtysh ${commands.join(' / ')}`,
    );
  const json = async (command: string): Promise<Record<string, unknown>> => {
    const out = await vtysh(command);
    try {
      return JSON.parse(out) as Record<string, unknown>;
    } catch {
      throw new Error(`vtysh ${command}: not JSON: ${out.slice(0, 500)}`);
    }
  };

  await untilServing(
    proc,
    'bgpd',
    'FRR vty socket',
    async () => existsSync(join(dir, 'bgpd.vty')) && (await vtysh('show bgp summary json')).includes('{'),
    10_000,
  );

  const handle: FrrHandle = {
    address: options.address,
    process: proc,
    vtysh,
    async prefixes(afi = 'ipv4') {
      const out = await json(`show bgp ${afi} unicast json`);
      const routes = (out.routes ?? {}) as Record<string, unknown[]>;
      return new Map(Object.entries(routes).map(([p, paths]) => [p, paths.length]));
    },
    async route(prefix, afi = 'ipv4') {
      const out = await json(`show bgp ${afi} unicast ${prefix} json`);
      const paths = (out.paths ?? []) as Record<string, unknown>[];
      return paths.map(parseFrrPath);
    },
    async neighbor(address) {
      const out = await json(`show bgp neighbor ${address} json`);
      const raw = out[address] as Record<string, unknown> | undefined;
      if (!raw || typeof raw !== 'object' || !('bgpState' in raw)) return undefined;
      return { address, state: String(raw.bgpState), raw };
    },
    waitForState(address, state, timeoutMs = 30_000) {
      const probe = async () => {
        const n = await handle.neighbor(address);
        return n?.state === state ? n : undefined;
      };
      return pollDaemon(proc, 'bgpd', `FRR neighbor ${address} in state ${state}`, probe, timeoutMs);
    },
    async configure(lines) {
      const out = await vtysh('configure terminal', ...lines);
      if (/%|Unknown command|error/i.test(out)) throw new Error(`vtysh configure: ${out.trim()}`);
    },
    async stop({ signal } = {}) {
      await proc.stop(signal ? { signal } : {});
    },
  };
  return handle;
}

function parseFrrPath(p: Record<string, unknown>): FrrPath {
  const nexthops = (p.nexthops ?? []) as { ip?: string }[];
  const community = p.community as { list?: string[]; string?: string } | undefined;
  const large = p.largeCommunity as { list?: string[]; string?: string } | undefined;
  const asPath = p.aspath as { string?: string } | undefined;
  const bestpath = p.bestpath as { overall?: boolean } | undefined;
  return {
    valid: p.valid === true,
    bestpath: bestpath?.overall === true,
    stale: p.stale === true,
    nexthop: nexthops[0]?.ip,
    asPath: asPath?.string ?? '',
    origin: typeof p.origin === 'string' ? p.origin : undefined,
    med: typeof p.metric === 'number' ? p.metric : undefined,
    localPref: typeof p.locPrf === 'number' ? p.locPrf : typeof p.localpref === 'number' ? p.localpref : undefined,
    communities: community?.list ?? (community?.string ? community.string.split(' ') : []),
    largeCommunities: large?.list ?? (large?.string ? large.string.split(' ') : []),
    raw: p,
  };
}
