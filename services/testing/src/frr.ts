// FRR bgpd as a test peer, without zebra: `bgpd -Z -S -P 0 -l ADDR -p PORT -f CONF -i PIDFILE
// --vty_socket DIR`, queried through vtysh's JSON output.
// Config rules learned the hard way: FRR enforces RFC 8212 (add `no bgp ebgp-requires-policy`),
// activates IPv4 for every neighbor unless `no bgp default ipv4-unicast`, needs
// `no bgp network import-check` for `network` statements without zebra, and ignores a
// `network ... route-map X` whose route-map is defined later in the file (define route-maps first).
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeDaemonDir, poll, spawnDaemon, type DaemonProcess } from './daemon.js';
import type { Netns } from './netns.js';

const execFileAsync = promisify(execFile);

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

  const vtysh = async (...commands: string[]): Promise<string> => {
    const argv = ['--vty_socket', dir, ...commands.flatMap((c) => ['-c', c])];
    try {
      const { stdout } = await execFileAsync(VTYSH_BIN, argv, { timeout: 15_000, maxBuffer: 512 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`vtysh ${commands.join(' / ')}: ${(e.stderr || e.stdout || e.message).trim()}`);
    }
  };
  const json = async (command: string): Promise<Record<string, unknown>> => {
    const out = await vtysh(command);
    try {
      return JSON.parse(out) as Record<string, unknown>;
    } catch {
      throw new Error(`vtysh ${command}: not JSON: ${out.slice(0, 500)}`);
    }
  };

  try {
    await poll(
      'FRR vty socket',
      async () =>
        existsSync(join(dir, 'bgpd.vty')) && (await vtysh('show bgp summary json')).includes('{') ? true : undefined,
      10_000,
      proc.logTail,
      () =>
        proc.exitCode !== undefined ? new Error(`bgpd exited with ${proc.exitCode}: ${proc.logTail()}`) : undefined,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }

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
    async waitForState(address, state, timeoutMs = 30_000) {
      return poll(
        `FRR neighbor ${address} in state ${state}`,
        async () => {
          const n = await handle.neighbor(address);
          return n?.state === state ? n : undefined;
        },
        timeoutMs,
        () => proc.logTail(),
        () =>
          proc.exitCode !== undefined
            ? new Error(`the daemon exited with ${proc.exitCode}: ${proc.logTail()}`)
            : undefined,
      );
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
