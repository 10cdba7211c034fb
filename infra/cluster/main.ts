// `npm start`: the local cluster. Starts nats-server (JetStream, data under the data directory),
// the datastore service and, as they exist, the other services; supervises them; prints
// `meshless ready` and the endpoints; stops everything cleanly on Ctrl-C or SIGTERM. Data persists
// across restarts because every store lives under the data directory.
import { get } from 'node:http';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checks, ConfigError, describeConfig, loadConfig } from '../../services/shared/config/index.js';
import { freePort } from '../../services/shared/testing/index.js';
import { Supervisor, type ChildSpec } from './supervisor.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const clusterConfig = {
  dataDir: { type: 'string', default: '.data', description: 'where NATS, LMDB snapshots and logs live (relative to the repository)' },
  natsPort: { type: 'int', default: 4222, check: checks.port, description: 'NATS client port; 0 picks a free one' },
  datastoreListen: { type: 'string', default: '127.0.0.1:5470', check: checks.hostPort, description: 'datastore gRPC API (the CLI default)' },
  syncListen: { type: 'string', default: '127.0.0.1:5473', check: checks.hostPort, description: 'sync server gRPC address (agents connect here)' },
  agents: { type: 'list', default: ['node-a1', 'node-a2', 'node-b1'], description: 'node agents to run (node names; the examples define these nodes)' },
  metricsBasePort: { type: 'int', default: 9090, check: checks.port, description: 'first metrics/health port; services take consecutive ports' },
} as const;

/** An agent's JSON log line as one terminal line when it reports changes or a status change. */
function agentEcho(node: string) {
  return (line: string): string | undefined => {
    let entry: { msg?: string; revision?: number; count?: number; changes?: unknown; server?: string; entries?: number };
    try {
      entry = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (entry.msg === 'changes arrived') {
      const changes = Array.isArray(entry.changes) ? entry.changes.join(', ') : String(entry.changes ?? '');
      return `agent ${node}: revision ${entry.revision}: ${changes}`;
    }
    if (entry.msg === 'in sync') return `agent ${node}: in sync with ${entry.server} at revision ${entry.revision} (${entry.entries} resources)`;
    return undefined;
  };
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolveOk) => {
    const req = get(url, (res) => {
      res.resume();
      resolveOk(res.statusCode === 200);
    });
    req.on('error', () => resolveOk(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

/** The configured port when it is free, else any free one (0 always means any). */
async function portOrFree(port: number): Promise<number> {
  if (port === 0) return freePort();
  const free = await new Promise<boolean>((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
  return free ? port : freePort();
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(`npm start: run the Meshless local cluster in the foreground.\n\nConfiguration (environment):\n${describeConfig(clusterConfig)}`);
    return;
  }
  let config;
  try {
    config = loadConfig(clusterConfig);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`meshless: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const dataDir = resolve(root, config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const say = (line: string) => console.log(line);
  const sup = new Supervisor(join(dataDir, 'logs'), say);
  const meshless = [join(root, 'bin/meshless.mjs')];
  const node = process.execPath;

  const natsPort = await portOrFree(config.natsPort);
  const natsMonitor = await freePort();
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  let metricsPort = config.metricsBasePort;
  const nextMetrics = () => portOrFree(metricsPort++);

  const children: Array<() => Promise<ChildSpec>> = [
    async () => ({
      name: 'nats',
      command: process.env.MESHLESS_NATS_SERVER ?? 'nats-server',
      args: ['-js', '-sd', join(dataDir, 'nats'), '-a', '127.0.0.1', '-p', String(natsPort), '-m', String(natsMonitor), '-n', 'meshless-local'],
      ready: () => httpOk(`http://127.0.0.1:${natsMonitor}/healthz`),
      endpoints: [`nats        ${natsUrl}`],
    }),
    async () => {
      const mp = await nextMetrics();
      return {
        name: 'datastore',
        command: node,
        args: [...meshless, 'datastore', '--listen', config.datastoreListen, '--nats', natsUrl, '--metrics-port', String(mp)],
        ready: () => httpOk(`http://127.0.0.1:${mp}/readyz`),
        endpoints: [`datastore   ${config.datastoreListen}   (gRPC; metrics and health on http://127.0.0.1:${mp}/metrics /livez /readyz)`],
      };
    },
    async () => {
      const mp = await nextMetrics();
      return {
        name: 'sync',
        command: node,
        args: [...meshless, 'sync', '--listen', config.syncListen, '--nats', natsUrl, '--state-dir', join(dataDir, 'sync'), '--metrics-port', String(mp)],
        ready: () => httpOk(`http://127.0.0.1:${mp}/readyz`),
        endpoints: [`sync        ${config.syncListen}   (gRPC; metrics and health on http://127.0.0.1:${mp}/metrics)`],
      };
    },
    ...config.agents.map((name) => async (): Promise<ChildSpec> => {
      const mp = await nextMetrics();
      return {
        name: `agent-${name}`,
        command: node,
        args: [...meshless, 'agent', '--node', name, '--sync', config.syncListen, '--state-dir', join(dataDir, 'agents'), '--metrics-port', String(mp)],
        ready: () => httpOk(`http://127.0.0.1:${mp}/readyz`),
        endpoints: [`agent       ${name}   (metrics and health on http://127.0.0.1:${mp}/metrics)`],
        echo: agentEcho(name),
      };
    }),
  ];

  let shuttingDown = false;
  const stop = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`meshless stopping (${signal})`);
    await sup.stopAll();
    say('meshless stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    for (const make of children) {
      const spec = await make();
      say(`starting ${spec.name}`);
      await sup.start(spec);
    }
  } catch (err) {
    console.error(`meshless: ${(err as Error).message}`);
    await sup.stopAll();
    process.exit(1);
  }
  say('meshless ready');
  for (const e of sup.endpoints()) say(`  ${e}`);
  say(`  logs        ${join(dataDir, 'logs')}`);
  say('Try: npx meshless apply -f examples/ && npx meshless get ippools -o yaml   (Ctrl-C stops everything)');
}

await main();
