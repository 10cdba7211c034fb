// The local cluster's BGP side: route reflectors (`meshless rr` in datastore mode) and one BIRD 2
// "top-of-rack switch" on loopback addresses, with the Calico resources they need.
//
// Layout (all on 127.0.0.0/8, unprivileged ports, no kernel routes touched):
//   switch       127.0.0.10, its own AS (eBGP to every reflector), BIRD with no kernel protocol
//   reflector-N  127.0.0.(11+N), Node with spec.bgp.routeReflectorClusterID (Calico's model)
//   agent nodes  127.0.1.(1+N): spec.bgp.ipv4Address, the next hop of their IPAM blocks
//
// Bootstrap (through the datastore API, idempotent): the cluster owns the reflector Nodes, their
// per-node BGPConfigurations (`node.<name>`: listenPort, bindMode NodeIP, so applying another
// `default` such as examples/bgp.yaml does not move them) and the BGPPeer for the switch, and
// applies them on every start when they differ (an unchanged one is not written again). It creates,
// only when absent, a `default` BGPConfiguration. The agent nodes, their addresses and blocks are
// nodes.ts's: a cluster without reflectors registers them too.
//
// The switch watcher asks BIRD (`birdc show route all`) every second and prints one line per
// change, and one line once the switch holds every agent node's block from every reflector.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NotFoundError } from '../../services/shared/errors/index.js';
import type { DatastoreClient, ResourceObject } from '../../services/shared/datastore-client/index.js';
import { parseBirdRoutes } from '../../services/testing/index.js';
import { RR_NODE_FLAGS } from '../../services/rr/index.js';
import type { ChildSpec } from './supervisor.js';
import { createIfAbsent, res } from './nodes.js';

const execFileAsync = promisify(execFile);

export const SWITCH_ADDRESS = '127.0.0.10';
export const CLUSTER_ID = '224.0.0.1';
export const REFLECTOR_LABEL = 'local-reflector';
const SWITCH_PEER = 'local-switch';
const BIRD = process.env.MESHLESS_BIRD ?? 'bird';
const BIRDC = process.env.MESHLESS_BIRDC ?? 'birdc';

export interface Reflector {
  name: string;
  address: string;
  /** BGP port on `address` (its `node.<name>` BGPConfiguration listenPort). */
  port: number;
  /** gRPC admin API (`meshless bgp peers --rr 127.0.0.1:PORT`). */
  adminPort: number;
}

export interface BgpLayout {
  as: number;
  switchAs: number;
  switchPort: number;
  reflectors: Reflector[];
  /** Agent node name → the loopback address it gets when its Node has none. */
  agentAddresses: Map<string, string>;
}

export function reflectorAddress(i: number): string {
  return `127.0.0.${11 + i}`;
}

/** BIRD's protocol name for a reflector (identifiers only). */
function protocolName(r: Reflector): string {
  return r.name.replace(/-/g, '_');
}

/** Every field of `want` is in `have` with the same value (`have` may hold defaults besides). */
function covers(have: unknown, want: unknown): boolean {
  if (want === null || typeof want !== 'object') return have === want;
  if (have === null || typeof have !== 'object' || Array.isArray(want) !== Array.isArray(have)) return false;
  if (Array.isArray(want))
    return want.length === (have as unknown[]).length && want.every((w, i) => covers((have as unknown[])[i], w));
  return Object.entries(want).every(([k, w]) => covers((have as Record<string, unknown>)[k], w));
}

/** Create or update, but write nothing when the stored resource already says it (no new revision). */
async function applyIfChanged(client: DatastoreClient, r: ResourceObject): Promise<void> {
  try {
    const have = await client.get(r.kind, r.metadata.name);
    if (covers(have.spec, r.spec) && covers(have.metadata.labels ?? {}, r.metadata.labels ?? {})) return;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  await client.apply(r);
}

/** Applies the resources the reflectors and the switch need (the agent nodes are nodes.ts's). */
export async function bootstrapBgp(client: DatastoreClient, layout: BgpLayout): Promise<void> {
  const what = (r: ResourceObject) => `${r.kind} ${r.metadata.name}`;
  const step = async (r: ResourceObject, write: () => Promise<unknown>): Promise<void> => {
    try {
      await write();
    } catch (err) {
      throw new Error(`creating ${what(r)}: ${(err as Error).message}`);
    }
  };
  const def = res('BGPConfiguration', 'default', { asNumber: layout.as, nodeToNodeMeshEnabled: false });
  await step(def, () => createIfAbsent(client, def));
  for (const r of layout.reflectors) {
    const node = res(
      'Node',
      r.name,
      { bgp: { ipv4Address: `${r.address}/32`, asNumber: layout.as, routeReflectorClusterID: CLUSTER_ID } },
      { [REFLECTOR_LABEL]: 'true' },
    );
    await step(node, () => applyIfChanged(client, node));
    const cfg = res('BGPConfiguration', `node.${r.name}`, { listenPort: r.port, bindMode: 'NodeIP' });
    await step(cfg, () => applyIfChanged(client, cfg));
  }
  const peer = res('BGPPeer', SWITCH_PEER, {
    nodeSelector: `${REFLECTOR_LABEL} == 'true'`,
    peerIP: `${SWITCH_ADDRESS}:${layout.switchPort}`,
    asNumber: layout.switchAs,
  });
  await step(peer, () => applyIfChanged(client, peer));
}

/** Whether `bird` can be run here (installed by infra/install.sh). */
export function birdAvailable(): boolean {
  const r = spawnSync(BIRD, ['--version'], { stdio: 'ignore' });
  return r.error === undefined;
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolveOpen(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

export function reflectorChild(
  r: Reflector,
  o: {
    meshless: string[];
    credentials: string;
    syncListen: string;
    datastoreListen: string;
    dataDir: string;
    metricsPort: number;
  },
): ChildSpec {
  return {
    name: `rr-${r.name}`,
    command: process.execPath,
    args: [
      ...RR_NODE_FLAGS,
      ...o.meshless,
      'rr',
      '--credentials',
      o.credentials,
      '--node',
      r.name,
      '--sync',
      o.syncListen,
      '--admin',
      `127.0.0.1:${r.adminPort}`,
      '--metrics-port',
      String(o.metricsPort),
      '--data-dir',
      join(o.dataDir, 'rr', r.name),
    ],
    // `meshless --datastore` is the CLI's global flag: the reflector's own one goes by env.
    env: { MESHLESS_DATASTORE: o.datastoreListen },
    // The admin API opens once the reflector has its datastore view and runs BGP.
    ready: () => tcpOpen('127.0.0.1', r.adminPort),
    readyTimeoutMs: 60_000,
    endpoints: [
      `reflector   ${r.name}   BGP ${r.address}:${r.port}   (npx meshless bgp peers --rr 127.0.0.1:${r.adminPort}; metrics http://127.0.0.1:${o.metricsPort}/metrics)`,
    ],
  };
}

export function birdConfig(layout: BgpLayout): string {
  const lines = [
    "# Written by `npm start` (infra/cluster/reflectors.ts) on every start: the local cluster's",
    '# top-of-rack switch. eBGP to each route reflector on loopback; no kernel protocol, so the',
    "# host's routes are never touched (routes show as unreachable: 127/8 next hops resolve nowhere).",
    'log stderr all;',
    `router id ${SWITCH_ADDRESS};`,
    'protocol device {}',
  ];
  for (const r of layout.reflectors) {
    lines.push(
      `protocol bgp ${protocolName(r)} {`,
      `  description "${r.name}";`,
      `  local ${SWITCH_ADDRESS} port ${layout.switchPort} as ${layout.switchAs};`,
      `  neighbor ${r.address} port ${r.port} as ${layout.as};`,
      '  strict bind;',
      '  multihop;',
      '  ipv4 { import all; export none; };',
      '}',
    );
  }
  return lines.join('\n') + '\n';
}

export interface SwitchPaths {
  dir: string;
  config: string;
  socket: string;
  pidFile: string;
}

export function switchPaths(dataDir: string): SwitchPaths {
  const dir = join(dataDir, 'switch');
  return { dir, config: join(dir, 'bird.conf'), socket: join(dir, 'bird.ctl'), pidFile: join(dir, 'bird.pid') };
}

export function birdc(socket: string, ...command: string[]): Promise<string> {
  return execFileAsync(BIRDC, ['-s', socket, ...command], { timeout: 10_000, maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => r.stdout,
  );
}

export function switchChild(layout: BgpLayout, paths: SwitchPaths): ChildSpec {
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.config, birdConfig(layout));
  return {
    name: 'switch',
    command: BIRD,
    args: ['-f', '-c', paths.config, '-s', paths.socket, '-P', paths.pidFile],
    ready: async () => (await birdc(paths.socket, 'show', 'status')).includes('Daemon is up'),
    endpoints: [
      `switch      BIRD AS ${layout.switchAs} at ${SWITCH_ADDRESS}:${layout.switchPort}   (birdc -s ${paths.socket} show route)`,
    ],
  };
}

interface Held {
  nextHop: string;
  from: string[];
}

/**
 * Polls BIRD and prints what the switch learns from the reflectors: `switch: learned CIDR via NH
 * (node) from reflector-0, reflector-1`, then `updated` / `withdrew` lines, and `switch: holds
 * every node's block ...` each time it comes to hold all of them. Returns a stop function.
 */
export function watchSwitch(o: {
  socket: string;
  layout: BgpLayout;
  blocks: Map<string, string>;
  client: DatastoreClient;
  say: (line: string) => void;
  intervalMs?: number;
}): () => void {
  const byProtocol = new Map(o.layout.reflectors.map((r) => [protocolName(r), r.name]));
  const agents = [...o.layout.agentAddresses.keys()];
  const owners = new Map(o.blocks);
  let held = new Map<string, Held>();
  let complete = false;
  let stopped = false;
  let busy = false;

  const refreshOwners = async (): Promise<void> => {
    const { items } = await o.client.list('BlockAffinity');
    for (const a of items) {
      const s = a.spec as { cidr?: string; node?: string };
      if (s.cidr && s.node) owners.set(s.cidr, s.node);
    }
  };

  const tick = async (): Promise<void> => {
    const routes = parseBirdRoutes(await birdc(o.socket, 'show', 'route', 'all'));
    const next = new Map<string, Held>();
    for (const r of routes) {
      const reflector = byProtocol.get(r.protocol);
      if (!reflector) continue;
      const h = next.get(r.prefix) ?? { nextHop: '', from: [] };
      if (r.primary || !h.nextHop) h.nextHop = r.attributes['BGP.next_hop'] ?? '';
      h.from.push(reflector);
      next.set(r.prefix, h);
    }
    for (const h of next.values()) h.from.sort();
    const prefixes = [...next.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if ([...next.keys()].some((p) => !owners.has(p))) await refreshOwners().catch(() => undefined);
    const who = (prefix: string) => (owners.has(prefix) ? ` (${owners.get(prefix)})` : '');
    for (const prefix of prefixes) {
      const h = next.get(prefix)!;
      const before = held.get(prefix);
      const text = `${prefix} via ${h.nextHop}${who(prefix)} from ${h.from.join(', ')}`;
      if (!before) o.say(`switch: learned ${text}`);
      else if (before.nextHop !== h.nextHop || before.from.join() !== h.from.join()) o.say(`switch: updated ${text}`);
    }
    for (const prefix of held.keys()) if (!next.has(prefix)) o.say(`switch: withdrew ${prefix}${who(prefix)}`);
    held = next;
    const all = o.layout.reflectors.length;
    const covered = agents.filter((node) =>
      [...next].some(([prefix, h]) => owners.get(prefix) === node && h.from.length === all),
    );
    const nowComplete = agents.length > 0 && covered.length === agents.length;
    if (nowComplete && !complete)
      o.say(
        `switch: holds every node's block (${agents.join(', ')}) from ${all === 1 ? 'the reflector' : `each of the ${all} reflectors`}`,
      );
    complete = nowComplete;
  };

  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    // BIRD restarting under the supervisor, or a slow birdc: the next tick tries again.
    tick()
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, o.intervalMs ?? 1000);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
