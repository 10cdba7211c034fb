// `npm start`: the local cluster. Starts nats-server (JetStream, data under the data directory),
// the datastore service, a sync server, node agents, route reflectors and a BIRD top-of-rack
// switch on loopback (reflectors.ts); supervises them; prints `meshless ready` and the endpoints,
// then what the agents receive and what the switch learns; stops everything cleanly on Ctrl-C or
// SIGTERM. Data persists across restarts because every store lives under the data directory.
// Every gRPC hop is mutual TLS: pki.ts makes a local CA and one certificate per process on the
// first start, and gives the CLI the admin's credentials.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { checkedDistEnv, COMPILED, MESHLESS_BIN, PROJECT_ROOT } from '../../services/shared/paths/index.js';
import { checks, ConfigError, describeConfig, loadConfig } from '../../services/shared/config/index.js';
import { freePort, httpOk } from '../../services/shared/testing/index.js';
import { createDatastoreClient } from '../../services/shared/datastore-client/index.js';
import { Supervisor, type ChildSpec, type StartStep } from './supervisor.js';
import { ensurePki, installAdminCredentials } from './pki.js';
import { natsLayout } from './nats.js';
import { agentAddress, registerNodes } from './nodes.js';
import {
  birdAvailable,
  bootstrapBgp,
  reflectorAddress,
  reflectorChild,
  SWITCH_ADDRESS,
  switchChild,
  switchPaths,
  watchSwitch,
  type BgpLayout,
} from './reflectors.js';

const root = PROJECT_ROOT;

export const clusterConfig = {
  dataDir: {
    type: 'string',
    default: '.data',
    description: 'where NATS, LMDB snapshots and logs live (relative to the repository)',
  },
  natsPort: { type: 'int', default: 4222, check: checks.port, description: 'NATS client port; 0 picks a free one' },
  natsCluster: {
    type: 'int',
    default: 1,
    check: (v: number) => (v === 1 || v === 3 || v === 5 ? undefined : `must be 1, 3 or 5, got ${v}`),
    description: 'nats-servers to run (3 or 5: a JetStream cluster, buckets replicated; also --nats-cluster N)',
  },
  datastoreListen: {
    type: 'string',
    default: '127.0.0.1:5470',
    check: checks.hostPort,
    description: 'datastore gRPC API (the CLI default); port 0: a free one, printed once ready',
  },
  syncListen: {
    type: 'string',
    default: '127.0.0.1:5473',
    check: checks.hostPort,
    description: 'sync server gRPC address (agents connect here); port 0: a free one',
  },
  agents: {
    type: 'list',
    default: ['node-a1', 'node-a2', 'node-b1'],
    description: 'node agents to run (node names; the examples define these nodes)',
  },
  metricsBasePort: {
    type: 'int',
    default: 9090,
    check: checks.port,
    description: 'first metrics/health port; services take consecutive ports',
  },
  reflectors: {
    type: 'int',
    default: 2,
    check: (v: number) => (v >= 0 && v <= 9 ? undefined : `must be 0-9, got ${v}`),
    description: 'route reflectors to run (127.0.0.11 and up); 0 runs no reflector and no switch',
  },
  bgpAs: {
    type: 'int',
    default: 64512,
    check: (v: number) => (v >= 1 && v <= 4294967295 ? undefined : `must be an AS number 1-4294967295, got ${v}`),
    description: "the cluster's AS (reflectors and nodes)",
  },
  bgpPort: {
    type: 'int',
    default: 1179,
    check: checks.port,
    description: "reflectors' BGP port, on each one's own loopback address (a free one when taken)",
  },
  switchAs: {
    type: 'int',
    default: 65100,
    check: (v: number) => (v >= 1 && v <= 4294967295 ? undefined : `must be an AS number 1-4294967295, got ${v}`),
    description: "the BIRD switch's AS (eBGP to the reflectors)",
  },
  switchPort: {
    type: 'int',
    default: 1180,
    check: checks.port,
    description: "the BIRD switch's BGP port on 127.0.0.10 (a free one when taken)",
  },
  rrAdminBasePort: {
    type: 'int',
    default: 5474,
    check: checks.port,
    description: 'first reflector admin API port (meshless bgp --rr); reflectors take consecutive ports',
  },
  dashboardPort: {
    type: 'int',
    default: 5480,
    check: checks.port,
    description: 'the web dashboard on 127.0.0.1 (meshless dashboard; a free one when taken)',
  },
} as const;

/** An agent's JSON log line as one terminal line when it reports changes or a status change. */
function agentEcho(node: string) {
  return (line: string): string | undefined => {
    let entry: {
      msg?: string;
      revision?: number;
      count?: number;
      changes?: unknown;
      server?: string;
      entries?: number;
    };
    try {
      entry = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (entry.msg === 'changes arrived') {
      const changes = Array.isArray(entry.changes) ? entry.changes.join(', ') : String(entry.changes ?? '');
      return `agent ${node}: revision ${entry.revision}: ${changes}`;
    }
    if (entry.msg === 'in sync')
      return `agent ${node}: in sync with ${entry.server} at revision ${entry.revision} (${entry.entries} resources)`;
    return undefined;
  };
}

/** The configured port when it is free on `host`, else any free one (0 always means any). */
async function portOrFree(port: number, host = '127.0.0.1'): Promise<number> {
  if (port === 0) return freePort(host);
  const free = await new Promise<boolean>((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, host, () => s.close(() => res(true)));
  });
  return free ? port : freePort(host);
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(
      `npm start: run the Meshless local cluster in the foreground.\n\nConfiguration (environment):\n${describeConfig(clusterConfig)}`,
    );
    return;
  }
  let config;
  try {
    const flag = process.argv.indexOf('--nats-cluster');
    config = loadConfig(clusterConfig, flag > 0 ? { overrides: { natsCluster: process.argv[flag + 1] } } : {});
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`meshless: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const dataDir = resolve(root, config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  // infra/start.sh has just built dist/: the services and CLI runs started below need not each
  // check it again (children inherit the environment). From sources there is nothing to check.
  if (COMPILED) Object.assign(process.env, await checkedDistEnv());
  const say = (line: string) => console.log(line);
  const sup = new Supervisor(join(dataDir, 'logs'), say);
  const meshless = [MESHLESS_BIN];
  const node = process.execPath;

  let metricsPort = config.metricsBasePort;
  // Every service's /metrics, by name (an agent's is its node): what the dashboard reads. By name:
  // a start made again on new ports replaces its entry.
  const scraped = new Map<string, string>();
  const nextMetrics = async (name: string) => {
    const port = await portOrFree(metricsPort++);
    scraped.set(name, `${name}=http://127.0.0.1:${port}/metrics`);
    return port;
  };

  const bgp = config.reflectors > 0;
  const withSwitch = bgp && birdAvailable();
  if (bgp && !withSwitch)
    say(
      'switch: bird not found (apt-get install bird2, or bash infra/install.sh); running the reflectors without the switch',
    );
  const layout: BgpLayout = {
    as: config.bgpAs,
    switchAs: config.switchAs,
    switchPort: await portOrFree(config.switchPort, SWITCH_ADDRESS),
    reflectors: [],
    agentAddresses: new Map(config.agents.map((name, i) => [name, agentAddress(i)])),
  };
  for (let i = 0; i < config.reflectors; i++) {
    layout.reflectors.push({
      name: `reflector-${i}`,
      address: reflectorAddress(i),
      port: await portOrFree(config.bgpPort, reflectorAddress(i)),
      adminPort: await portOrFree(config.rrAdminBasePort + i),
    });
  }
  const pki = await ensurePki(
    dataDir,
    [
      { dir: 'admin', identity: { role: 'admin', name: 'local-admin' } },
      // NATS clients check the server's host name, so its certificate names the loopback.
      { dir: 'nats', identity: { role: 'nats', name: 'nats' }, hosts: ['127.0.0.1', 'localhost'] },
      { dir: 'datastore', identity: { role: 'datastore', name: 'datastore' } },
      { dir: 'sync', identity: { role: 'sync-server', name: 'sync-0' } },
      ...config.agents.map((name) => ({ dir: `node-${name}`, identity: { role: 'node' as const, name } })),
      ...layout.reflectors.map((r) => ({
        dir: `rr-${r.name}`,
        identity: { role: 'reflector' as const, name: r.name },
      })),
    ],
    say,
  );
  say(installAdminCredentials(pki.credentials('admin')));
  const natsSecurity = { credentials: pki.credentials('nats'), datastores: ['datastore'], syncServers: ['sync-0'] };
  const nats = await natsLayout(dataDir, config.natsCluster, config.natsPort, (p) => portOrFree(p), natsSecurity);
  let natsUrl = nats.url;
  // A listen address with port 0 is the cluster's to choose (tests); it is chosen again when the
  // port is taken before the service binds it. A configured port is the operator's: never moved.
  const anyPort = (listen: string) => listen.endsWith(':0');
  const pick = async (listen: string) => `${listen.slice(0, listen.lastIndexOf(':'))}:${await freePort()}`;
  let datastoreListen: string = config.datastoreListen;
  let syncListen: string = config.syncListen;
  let datastore: ReturnType<typeof createDatastoreClient> | undefined;
  const client = () =>
    (datastore ??= createDatastoreClient(datastoreListen, { credentials: pki.credentials('admin') }));
  let blocks = new Map<string, string>();
  const paths = switchPaths(dataDir);

  // A step returns the child to start and supervise, or undefined when it only had work to do.
  const children: StartStep[] = [
    ...nats.children.map((spec, i) => async (attempt: number) => {
      // One server: laid out again on free ports. The members of a cluster name each other's
      // route ports, so a member is not moved alone.
      if (attempt === 0 || nats.children.length > 1) return spec;
      const again = await natsLayout(dataDir, config.natsCluster, 0, (p) => portOrFree(p), natsSecurity);
      natsUrl = again.url;
      return again.children[i]!;
    }),
    async () => {
      if (anyPort(config.datastoreListen)) datastoreListen = await pick(config.datastoreListen);
      const mp = await nextMetrics('datastore');
      return {
        name: 'datastore',
        command: node,
        args: [
          ...meshless,
          'datastore',
          '--credentials',
          pki.credentials('datastore'),
          '--nats-credentials',
          pki.credentials('datastore'),
          '--listen',
          datastoreListen,
          '--nats',
          natsUrl,
          '--metrics-port',
          String(mp),
        ],
        ready: () => httpOk(`http://127.0.0.1:${mp}/readyz`),
        endpoints: [
          `datastore   ${datastoreListen}   (gRPC, mutual TLS; metrics and health on http://127.0.0.1:${mp}/metrics /livez /readyz)`,
        ],
      };
    },
    async () => {
      if (bgp) {
        say('applying the BGP resources (reflector Nodes, BGPPeer for the switch)');
        await bootstrapBgp(client(), layout);
      }
      // With or without reflectors: the sync server serves an agent only once its Node exists.
      say('registering the agent nodes (Node, address, one block each)');
      blocks = await registerNodes(client(), layout.agentAddresses, say);
      return undefined;
    },
    async () => {
      if (anyPort(config.syncListen)) syncListen = await pick(config.syncListen);
      const mp = await nextMetrics('sync');
      return {
        name: 'sync',
        command: node,
        args: [
          ...meshless,
          'sync',
          '--credentials',
          pki.credentials('sync'),
          '--nats-credentials',
          pki.credentials('sync'),
          '--listen',
          syncListen,
          '--nats',
          natsUrl,
          '--state-dir',
          join(dataDir, 'sync'),
          '--metrics-port',
          String(mp),
        ],
        ready: () => httpOk(`http://127.0.0.1:${mp}/readyz`),
        endpoints: [`sync        ${syncListen}   (gRPC; metrics and health on http://127.0.0.1:${mp}/metrics)`],
      };
    },
    ...config.agents.map((name) => async (): Promise<ChildSpec> => {
      const mp = await nextMetrics(name);
      return {
        name: `agent-${name}`,
        command: node,
        args: [
          ...meshless,
          'agent',
          '--credentials',
          pki.credentials(`node-${name}`),
          '--node',
          name,
          '--sync',
          syncListen,
          '--state-dir',
          join(dataDir, 'agents'),
          '--metrics-port',
          String(mp),
        ],
        ready: () => httpOk(`http://127.0.0.1:${mp}/readyz`),
        endpoints: [`agent       ${name}   (metrics and health on http://127.0.0.1:${mp}/metrics)`],
        echo: agentEcho(name),
      };
    }),
    ...layout.reflectors.map((r) => async (attempt: number): Promise<ChildSpec> => {
      // Its admin port only: the BGP port is in the datastore's BGP resources already.
      if (attempt > 0) r.adminPort = await freePort();
      return reflectorChild(r, {
        meshless,
        credentials: pki.credentials(`rr-${r.name}`),
        syncListen,
        datastoreListen,
        dataDir,
        metricsPort: await nextMetrics(`rr-${r.name}`),
      });
    }),
    async () => (withSwitch ? switchChild(layout, paths) : undefined),
    async () => {
      const url = `http://127.0.0.1:${await portOrFree(config.dashboardPort)}/`;
      const rr = layout.reflectors.map((r) => `127.0.0.1:${r.adminPort}`).join(',');
      return {
        name: 'dashboard',
        command: node,
        args: [
          ...meshless,
          'dashboard',
          '--credentials',
          pki.credentials('admin'),
          '--listen',
          url.slice(7, -1),
          '--datastore',
          datastoreListen,
          ...(rr ? ['--rr', rr] : []),
          '--metrics',
          [...scraped.values()].join(','),
        ],
        ready: () => httpOk(`${url}readyz`),
        endpoints: [`dashboard   ${url}   (live: nodes, agents, sync servers, BGP sessions, IPAM, changes)`],
      };
    },
  ];
  let stopWatching = () => {};

  let shuttingDown = false;
  const stop = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`meshless stopping (${signal})`);
    stopWatching();
    datastore?.close();
    await sup.stopAll();
    say('meshless stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    for (const step of children) await sup.startStep(step);
  } catch (err) {
    console.error(`meshless: ${(err as Error).message}`);
    datastore?.close();
    await sup.stopAll();
    process.exit(1);
  }
  say('meshless ready');
  for (const e of sup.endpoints()) say(`  ${e}`);
  say(`  logs        ${join(dataDir, 'logs')}`);
  say('Try: npx meshless apply -f examples/ && npx meshless get ippools -o yaml   (Ctrl-C stops everything)');
  if (withSwitch) {
    say(
      `Look: birdc -s ${paths.socket} show route   and   npx meshless bgp peers --rr 127.0.0.1:${layout.reflectors[0]!.adminPort}`,
    );
    stopWatching = watchSwitch({ socket: paths.socket, layout, blocks, client: client(), say });
  }
}

await main();
