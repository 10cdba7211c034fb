// `meshless agent`: one node agent process. It follows the sync servers, keeps its state in LMDB,
// logs what arrives (one line per commit, naming the changed resources) and serves /metrics,
// /livez and /readyz (ready = in sync). With `--dataplane linux` it also programs this node's
// kernel from the view (./dataplane: routes to local workloads, block routes, proxy ARP).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checks, checkStateDir, type ConfigOf, type ParamSpec } from '../../shared/config/index.js';
import { createLogger, type Logger } from '../../shared/log/index.js';
import { checkCredentials, identityUri, TlsConfigError } from '../../shared/tls/index.js';
import { Shutdown, startTelemetry, type Telemetry } from '../../shared/telemetry/index.js';
import { SyncAgent } from '../../sync/index.js';
import { changeLatency, dataplaneConfigSpec, secondsSince, startDataplane } from './dataplane/index.js';

const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const agentConfigSpec = {
  node: {
    type: 'string',
    default: '',
    check: (v: string) =>
      v === ''
        ? 'required: the name of this node (--node NAME or MESHLESS_NODE)'
        : NODE_NAME.test(v) && v.length <= 253
          ? undefined
          : `'${v}' is not a valid node name (lower-case DNS subdomain)`,
    description: "this node's name (its Node resource)",
  },
  sync: {
    type: 'list',
    default: ['127.0.0.1:5473'],
    check: (v: string[]) =>
      v.length === 0
        ? 'at least one HOST:PORT is required'
        : v.map((e) => checks.hostPort(e)).find((e) => e !== undefined),
    description: 'sync servers HOST:PORT[,HOST:PORT...]',
  },
  syncer: {
    type: 'string',
    default: 'agent',
    check: checks.oneOf('agent', 'bgp'),
    description: 'view to follow: agent or bgp',
  },
  stateDir: {
    type: 'string',
    default: '.data/agent',
    description: 'LMDB directory of the local state (one subdirectory per node; empty: in memory only)',
  },
  metricsHost: { type: 'string', default: '127.0.0.1', description: 'address of the /metrics /livez /readyz endpoint' },
  metricsPort: {
    type: 'int',
    default: 9095,
    check: checks.metricsPort,
    description: 'port of /metrics /livez /readyz (0 picks one, -1 disables)',
  },
  backoffMax: {
    type: 'duration',
    default: 10_000,
    check: checks.positive,
    description: 'longest wait between connection attempts',
  },
  credentials: {
    type: 'string',
    default: '',
    description:
      'directory with ca.crt, tls.crt, tls.key (meshless certs issue --role node): mutual TLS; empty: plain text',
  },
  standby: {
    type: 'bool',
    // On: a failover then costs the surviving server up to half less CPU per agent (services/sync/DESIGN.md, "Warm standby").
    default: true,
    description:
      'keep an idle connection to the sync server this agent would fail over to (with two or more --sync servers), so a failover needs no connection set-up',
  },
  ...dataplaneConfigSpec,
} satisfies Record<string, ParamSpec<any>>;

export type AgentConfig = ConfigOf<typeof agentConfigSpec>;

export interface RunningAgent {
  readonly agent: SyncAgent;
  readonly telemetry: Telemetry;
  stop(): Promise<void>;
}

/** Names of the changed resources in one log line (at most `max`, then a count). */
function describe(
  updates: readonly { kind: string; namespace: string; name: string; value: unknown }[],
  max = 10,
): string {
  const parts = updates
    .slice(0, max)
    .map((u) => `${u.value === undefined ? '-' : '+'}${u.kind}/${u.namespace ? `${u.namespace}/` : ''}${u.name}`);
  if (updates.length > max) parts.push(`... ${updates.length - max} more`);
  return parts.join(' ');
}

/** The certificate role that follows each view (the sync server's rule, sync's authorize.ts). */
const ROLE_FOR_SYNCER = { agent: 'node', bgp: 'reflector' } as const;

/**
 * Fails start-up unless the certificate in `credentials` may follow `node`'s view. The sync server
 * takes the node from the certificate and refuses a hello for any other; an agent started with a
 * mismatch would only log that refusal on every retry and never be ready. Admin and read-only
 * certificates may follow any node (operators' tools, load tests), as the server allows.
 */
export function checkAgentCertificate(credentials: string, node: string, syncer: 'agent' | 'bgp'): void {
  const { certFile, identity } = checkCredentials(credentials);
  if (identity.role === 'admin' || identity.role === 'read-only') return;
  const role = ROLE_FOR_SYNCER[syncer];
  // Every name the certificate carries, as the operator would see them with openssl.
  const cert = new X509Certificate(readFileSync(certFile));
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  const names = `${cert.subjectAltName ?? identityUri(identity)}${cn ? `; CN ${cn}` : ''}`;
  if (identity.role !== role)
    throw new TlsConfigError(
      `${certFile}: is a '${identity.role}' certificate (${names}); following the ${syncer} view of --node '${node}' needs a '${role}' one (meshless certs issue --role ${role} --node ${node})`,
    );
  if (identity.name !== node)
    throw new TlsConfigError(
      `${certFile}: names ${role} '${identity.name}' (${names}), but --node is '${node}'; the sync server would refuse every stream (meshless certs issue --role ${role} --node ${node})`,
    );
}

export async function runAgent(
  config: AgentConfig,
  options: { log?: Logger; handleSignals?: boolean } = {},
): Promise<RunningAgent> {
  const log = options.log ?? createLogger('agent', { node: config.node });
  // Fail fast: an unusable state directory stops start-up with the reason (never a live-looking
  // process that cannot sync); then nothing is left open, so the process exits non-zero.
  if (config.stateDir) checkStateDir(join(config.stateDir, config.node));
  if (config.credentials) checkAgentCertificate(config.credentials, config.node, config.syncer as 'agent' | 'bgp');
  const telemetry = await startTelemetry({ service: 'agent', host: config.metricsHost, port: config.metricsPort });
  try {
    return await startAgent(config, options, log, telemetry);
  } catch (err) {
    await telemetry.close().catch(() => undefined);
    throw err;
  }
}

async function startAgent(
  config: AgentConfig,
  options: { handleSignals?: boolean },
  log: Logger,
  telemetry: Telemetry,
): Promise<RunningAgent> {
  const agent = new SyncAgent({
    node: config.node,
    syncer: config.syncer,
    endpoints: config.sync,
    stateDir: config.stateDir ? join(config.stateDir, config.node) : undefined,
    backoffMaxMs: config.backoffMax,
    standby: config.standby,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    log,
  });
  const meter = telemetry.meter;
  const updates = meter.createCounter('meshless_agent_updates_total', { description: 'resource changes applied' });
  const commits = meter.createCounter('meshless_agent_commits_total', { description: 'commits applied' });
  const statusChanges = meter.createCounter('meshless_agent_status_changes_total', {
    description: 'status changes, by status',
  });
  meter
    .createObservableGauge('meshless_agent_revision', {
      description: 'datastore revision the local state is complete up to',
    })
    .addCallback((r) => r.observe(agent.revision));
  meter
    .createObservableGauge('meshless_agent_entries', { description: 'resources in the local state' })
    .addCallback((r) => r.observe(agent.size));
  meter
    .createObservableCounter('meshless_agent_snapshot_bytes_total', {
      description: 'snapshot bytes received since start',
    })
    .addCallback((r) => r.observe(agent.stats.snapshotBytes));
  meter
    .createObservableGauge('meshless_agent_standby_connected', {
      description: '1 while the warm standby session to the failover server is up (--standby)',
    })
    .addCallback((r) => r.observe(agent.standbyEndpoint === undefined ? 0 : 1));
  meter
    .createObservableCounter('meshless_agent_warm_streams_total', {
      description: 'streams opened on the warm standby session (a failover with no connection set-up)',
    })
    .addCallback((r) => r.observe(agent.stats.warmStreams));
  meter
    .createObservableGauge('meshless_agent_in_sync', { description: '1 while in sync with a server' })
    .addCallback((r) => r.observe(agent.status === 'in-sync' ? 1 : 0));
  telemetry.addReadiness('sync', () =>
    agent.status === 'in-sync'
      ? { ready: true }
      : { ready: false, reason: `${agent.status} (${agent.endpoint || 'no server yet'})` },
  );

  agent.on('status', (s) => {
    statusChanges.add(1, { status: s.status });
    if (s.status === 'syncing')
      log.info(
        { server: s.endpoint, revision: s.revision, resume: s.resume },
        s.resume ? 'resuming from our revision' : 'receiving a snapshot',
      );
    else if (s.status === 'in-sync')
      log.info(
        { server: s.endpoint, revision: s.revision, entries: agent.size, contentHash: agent.contentHash },
        'in sync',
      );
    else if (s.status === 'connecting')
      log.info({ server: s.endpoint, revision: s.revision, reason: s.reason }, 'connecting');
  });
  const latency = changeLatency(meter);
  agent.on('commit', (c) => {
    commits.add(1);
    updates.add(c.updates.length);
    for (const u of c.updates) if (u.commitTimeUnixMicros) latency(secondsSince(u.commitTimeUnixMicros), 'received');
    if (c.updates.length > 0)
      log.info(
        { revision: c.revision, count: c.updates.length, changes: describe(c.updates), contentHash: agent.contentHash },
        'changes arrived',
      );
  });
  await agent.start();
  let dataplane: ReturnType<typeof startDataplane>;
  try {
    dataplane = startDataplane(config, agent, { log, meter });
  } catch (err) {
    await agent.stop();
    throw err;
  }
  log.info(
    { node: config.node, sync: config.sync, syncer: config.syncer, metricsPort: telemetry.port },
    'agent started',
  );

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await dataplane?.close();
      await agent.stop();
      await telemetry.close();
    })());
  if (options.handleSignals) {
    const shutdown = new Shutdown(log);
    shutdown.add('agent', stop);
    shutdown.installSignalHandlers();
  }
  return { agent, telemetry, stop };
}
