// The devices under test: Meshless's reflector (a child process, `meshless rr --config`, started
// with the V8 flags it is meant to run with, RR_NODE_FLAGS), BIRD 2, FRR bgpd and GoBGP, each
// configured as a route reflector with the injector and every receiver as clients in one
// cluster, inside the benchmark's network namespace.

import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MESHLESS_BIN } from '../../services/shared/paths/index.js';
import { stringify } from 'yaml';
import { startBird, startFrr, startGobgp, type Netns } from '../../services/testing/index.js';
import { RR_NODE_FLAGS } from '../../services/rr/index.js';

export type DutName = 'meshless' | 'bird' | 'frr' | 'gobgp';
export const DUT_NAMES: readonly DutName[] = ['meshless', 'bird', 'frr', 'gobgp'];

export interface Dut {
  readonly name: DutName;
  readonly pid: number;
  /** Nudges the daemon (BIRD sleeps up to ~3 s before its last UPDATE batch unless woken). */
  poke(): Promise<void>;
  /** The last lines of its log, for errors. */
  logTail(): string;
  /** Writes a heap snapshot into the profile directory (Meshless with a profileDir only). */
  heapSnapshot?(): Promise<void>;
  stop(): Promise<void>;
}

export interface DutPlan {
  readonly ns: Netns;
  readonly as: number;
  /** The reflector's address (router id, cluster id). */
  readonly address: string;
  /** Its clients: the injector first, then the receivers. */
  readonly clients: readonly string[];
  /** Meshless only: run with --cpu-prof into this directory, heap snapshots on SIGUSR2. */
  readonly profileDir?: string;
}

async function startMeshless(p: DutPlan): Promise<Dut> {
  const dir = mkdtempSync(join(tmpdir(), 'meshless-bench-rr-'));
  const yamlPath = join(dir, 'rr.yaml');
  writeFileSync(
    yamlPath,
    stringify({
      asNumber: p.as,
      routerID: p.address,
      listen: `${p.address}:179`,
      adminListen: 'none',
      peers: p.clients.map((c) => ({ address: c, asNumber: p.as, rrClient: true, families: ['ipv4-unicast'] })),
    }),
  );
  const logPath = join(dir, 'rr.log');
  const fd = openSync(logPath, 'a');
  const profile = p.profileDir
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${p.profileDir}`,
        '--heapsnapshot-signal=SIGUSR2',
        `--diagnostic-dir=${p.profileDir}`,
      ]
    : [];
  const child = p.ns.spawn(process.execPath, [...RR_NODE_FLAGS, ...profile, MESHLESS_BIN, 'rr', '--config', yamlPath], {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, MESHLESS_LOG_LEVEL: 'warn' },
  });
  closeSync(fd);
  const exited = new Promise((r) => child.once('exit', r));
  if (child.pid === undefined) throw new Error('meshless rr did not start');
  const pid = child.pid;
  return {
    name: 'meshless',
    pid,
    poke: async () => undefined,
    logTail: () => readFileSync(logPath, 'utf8').slice(-3000),
    async heapSnapshot() {
      const dir = p.profileDir;
      if (!dir) return;
      const before = new Set(readdirSync(dir));
      child.kill('SIGUSR2');
      // The snapshot is written synchronously by the reflector's main thread; wait until the file
      // appears and stops growing.
      let size = -1;
      for (let i = 0; i < 600; i++) {
        await new Promise((r) => setTimeout(r, 500));
        const f = readdirSync(dir).find((n) => n.endsWith('.heapsnapshot') && !before.has(n));
        if (!f) continue;
        const s = statSync(join(dir, f)).size;
        if (s > 0 && s === size) return;
        size = s;
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startBirdDut(p: DutPlan): Promise<Dut> {
  const lines = [
    `router id ${p.address};`,
    'protocol device {}',
    `template bgp rrc { local ${p.address} as ${p.as}; multihop; strict bind; rr client; rr cluster id ${p.address}; connect delay time 1; connect retry time 1; error wait time 1, 2; ipv4 { import all; export all; }; }`,
    ...p.clients.map((c, i) => `protocol bgp c${i} from rrc { neighbor ${c} as ${p.as}; }`),
  ];
  const b = await startBird({ netns: p.ns, address: p.address, config: lines.join('\n') });
  return {
    name: 'bird',
    pid: b.process.pid,
    poke: async () => {
      await b.birdc('show status').catch(() => undefined);
    },
    logTail: () => b.process.logTail(),
    stop: () => b.stop(),
  };
}

async function startFrrDut(p: DutPlan): Promise<Dut> {
  const lines = [
    'frr defaults traditional',
    'hostname meshless-bench',
    `router bgp ${p.as}`,
    ` bgp router-id ${p.address}`,
    ` bgp cluster-id ${p.address}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' neighbor CLIENTS peer-group',
    ` neighbor CLIENTS remote-as ${p.as}`,
    ` neighbor CLIENTS update-source ${p.address}`,
    ' neighbor CLIENTS timers connect 1',
    ' neighbor CLIENTS advertisement-interval 0',
    ...p.clients.map((c) => ` neighbor ${c} peer-group CLIENTS`),
    ' address-family ipv4 unicast',
    '  neighbor CLIENTS activate',
    '  neighbor CLIENTS route-reflector-client',
    ' exit-address-family',
    'exit',
  ];
  const f = await startFrr({ netns: p.ns, address: p.address, config: lines.join('\n') });
  return {
    name: 'frr',
    pid: f.process.pid,
    poke: async () => undefined,
    logTail: () => f.process.logTail(),
    stop: () => f.stop(),
  };
}

async function startGobgpDut(p: DutPlan): Promise<Dut> {
  const neighbor = (c: string): string => `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${c}"
    peer-as = ${p.as}
  [neighbors.timers.config]
    connect-retry = 1
  [neighbors.transport.config]
    local-address = "${p.address}"
  [neighbors.route-reflector.config]
    route-reflector-client = true
    route-reflector-cluster-id = "${p.address}"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`;
  const config = `[global.config]
  as = ${p.as}
  router-id = "${p.address}"
  port = 179
  local-address-list = ["${p.address}"]
${p.clients.map(neighbor).join('')}`;
  const g = await startGobgp({ netns: p.ns, address: p.address, config });
  return {
    name: 'gobgp',
    pid: g.process.pid,
    poke: async () => undefined,
    logTail: () => g.process.logTail(),
    stop: () => g.stop(),
  };
}

export function startDut(name: DutName, plan: DutPlan): Promise<Dut> {
  switch (name) {
    case 'meshless':
      return startMeshless(plan);
    case 'bird':
      return startBirdDut(plan);
    case 'frr':
      return startFrrDut(plan);
    case 'gobgp':
      return startGobgpDut(plan);
  }
}
