// BIRD 2 as a test peer: `bird -f` with its own config, control socket and pid file, queried
// through birdc and parsed into plain objects.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDaemonDir, pollDaemon, runControl, spawnDaemon, untilServing, type DaemonProcess } from './daemon.js';
import type { Netns } from './netns.js';

export const BIRD_BIN = process.env.MESHLESS_BIRD ?? 'bird';
export const BIRDC_BIN = process.env.MESHLESS_BIRDC ?? 'birdc';

export interface BirdOptions {
  /** Namespace to run in; without one BIRD runs in this process's namespace. */
  netns?: Netns;
  /** The address BIRD's BGP protocols bind (`local <address>` in the config); informational. */
  address: string;
  /** The whole bird.conf. A `log` line to the daemon's own file is prepended. */
  config: string;
  /** How long BIRD may take to parse its config and open its control socket (default 10 s). */
  startTimeoutMs?: number;
}

export interface BirdChannel {
  state: string;
  imported: number;
  filtered: number;
  exported: number;
  preferred: number;
}

export interface BirdProtocol {
  name: string;
  /** `up`, `start`, `down`, ... (BIRD's protocol state column). */
  state: string;
  /** The Info column, e.g. `Established`, `Active   Socket: Connection refused`. */
  info: string;
  /** `BGP state:` line, e.g. `Established`, `Active`, `Idle`. */
  bgpState: string | undefined;
  /** `Last error:` line, e.g. `Received: Bad peer AS` or `Error: Hold timer expired`. */
  lastError: string | undefined;
  /** Every `Key: value` line under the protocol, last one wins (Neighbor AS, Hold timer, ...). */
  fields: Record<string, string>;
  channels: Record<string, BirdChannel>;
}

export interface BirdRoute {
  prefix: string;
  table: string;
  protocol: string;
  /** Marked `*` (selected as best). */
  primary: boolean;
  /** The route's first line after the prefix, e.g. `unicast [p1 12:00:00.000] * (100) [AS65000i]`. */
  summary: string;
  /** `via` address, when the route has one. */
  via: string | undefined;
  /** Attribute lines: `BGP.med` → `50`, `BGP.community` → `(65000,1) (65000,2)`, `Type` → `BGP univ`. */
  attributes: Record<string, string>;
}

export interface BirdHandle {
  readonly address: string;
  readonly socket: string;
  readonly process: DaemonProcess;
  /** Runs one birdc command and returns its output without the banner. */
  birdc(command: string): Promise<string>;
  protocol(name: string): Promise<BirdProtocol>;
  /** `show route all [table T] [protocol P] [for|exact prefix]` parsed. */
  routes(options?: { table?: string; protocol?: string; prefix?: string }): Promise<BirdRoute[]>;
  /** Waits until `show protocols` reports the BGP state (e.g. `Established`). */
  waitForState(name: string, state: string, timeoutMs?: number): Promise<BirdProtocol>;
  /** Replaces the config and runs `configure` (BIRD reconfigures in place). */
  reconfigure(config: string): Promise<void>;
  stop(options?: { signal?: NodeJS.Signals }): Promise<void>;
}

export async function startBird(options: BirdOptions): Promise<BirdHandle> {
  const dir = makeDaemonDir('bird');
  const confPath = join(dir, 'bird.conf');
  const socket = join(dir, 'bird.ctl');
  const logPath = join(dir, 'bird.log');
  const writeConfig = (config: string): void => writeFileSync(confPath, `log "${logPath}" all;\n${config}\n`);
  writeConfig(options.config);
  const proc = spawnDaemon(
    'bird',
    dir,
    BIRD_BIN,
    ['-f', '-c', confPath, '-s', socket, '-P', join(dir, 'bird.pid')],
    options.netns,
    logPath,
  );

  const birdc = async (command: string): Promise<string> =>
    (await runControl(BIRDC_BIN, ['-s', socket, ...command.split(/\s+/)], `birdc ${command}`)).replace(
      /^BIRD [^\n]*ready\.\n/,
      '',
    );
  await untilServing(
    proc,
    'bird',
    'BIRD control socket',
    async () => existsSync(socket) && (await birdc('show status')).includes('Daemon is up'),
    options.startTimeoutMs ?? 10_000,
  );

  const handle: BirdHandle = {
    address: options.address,
    socket,
    process: proc,
    birdc,
    async protocol(name) {
      return parseBirdProtocol(await birdc(`show protocols all ${name}`), name);
    },
    async routes({ table, protocol, prefix } = {}) {
      const parts = ['show route all'];
      if (prefix) parts.push(`for ${prefix}`);
      if (table) parts.push(`table ${table}`);
      if (protocol) parts.push(`protocol ${protocol}`);
      return parseBirdRoutes(await birdc(parts.join(' ')));
    },
    waitForState(name, state, timeoutMs = 30_000) {
      const probe = async () => {
        const p = await handle.protocol(name);
        return p.bgpState === state ? p : undefined;
      };
      return pollDaemon(proc, 'bird', `BIRD protocol ${name} in state ${state}`, probe, timeoutMs);
    },
    async reconfigure(config) {
      writeConfig(config);
      const out = await birdc('configure');
      if (!/Reconfigur/i.test(out)) throw new Error(`birdc configure: ${out.trim()}`);
    },
    async stop({ signal } = {}) {
      await proc.stop(signal ? { signal } : {});
    },
  };
  return handle;
}

export function parseBirdProtocol(output: string, name: string): BirdProtocol {
  const lines = output.split('\n');
  const header = lines.find((l) => l.startsWith(`${name} `));
  if (!header) throw new Error(`birdc: no protocol ${name} in: ${output.trim()}`);
  const cols = header.trim().split(/\s+/);
  const result: BirdProtocol = {
    name,
    state: cols[3] ?? '',
    info: cols.slice(5).join(' '),
    bgpState: undefined,
    lastError: undefined,
    fields: {},
    channels: {},
  };
  let channel: BirdChannel | undefined;
  for (const line of lines) {
    const ch = /^\s+Channel (\S+)/.exec(line);
    if (ch) {
      channel = { state: '', imported: 0, filtered: 0, exported: 0, preferred: 0 };
      result.channels[ch[1]!] = channel;
      continue;
    }
    const kv = /^\s+([A-Za-z][A-Za-z0-9 ./-]*?):\s+(.*)$/.exec(line);
    if (!kv) continue;
    const key = kv[1]!;
    const value = kv[2]!.trim();
    if (channel && key === 'State') channel.state = value;
    else if (channel && key === 'Routes') {
      const n = (what: string): number => Number(new RegExp(`(\\d+) ${what}`).exec(value)?.[1] ?? 0);
      channel.imported = n('imported');
      channel.filtered = n('filtered');
      channel.exported = n('exported');
      channel.preferred = n('preferred');
    } else {
      result.fields[key] = value;
      if (key === 'BGP state') result.bgpState = value;
      if (key === 'Last error') result.lastError = value;
    }
  }
  return result;
}

export function parseBirdRoutes(output: string): BirdRoute[] {
  const routes: BirdRoute[] = [];
  let table = '';
  let prefix = '';
  let current: BirdRoute | undefined;
  for (const line of output.split('\n')) {
    const t = /^Table (\S+):/.exec(line);
    if (t) {
      table = t[1]!;
      continue;
    }
    const start = /^(\S+)?\s+(\w+ \[(\S+)[^\]]*\].*)$/.exec(line);
    if (start && !line.startsWith('\t')) {
      if (start[1]) prefix = start[1];
      current = {
        prefix,
        table,
        protocol: start[3]!,
        primary: /\]\s+\*/.test(start[2]!),
        summary: start[2]!.trim(),
        via: undefined,
        attributes: {},
      };
      routes.push(current);
      continue;
    }
    if (!current) continue;
    const via = /^\s+via (\S+)/.exec(line);
    if (via) {
      current.via = via[1];
      continue;
    }
    const kv = /^\t([A-Za-z][\w.]*):\s?(.*)$/.exec(line);
    if (kv) current.attributes[kv[1]!] = kv[2]!.trim();
  }
  return routes;
}
