// `meshless rr`: the route reflector. Standalone mode reads a BIRD-style rr.yaml (peers, static
// routes, filters); datastore mode follows the sync servers as a Node with a route reflector
// cluster id (Calico's model). See services/rr/README.md. The service is imported only when the
// command runs.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError, oneLine } from '../failure.js';
import { serviceRuntime } from '../runtime.js';
import { isHostPort } from '../../../shared/config/index.js';

const EXAMPLES = `
Examples:
  meshless rr --node rr-0 --sync 127.0.0.1:5473 --datastore 127.0.0.1:5470   # datastore mode
  meshless rr --config rr.yaml                          # standalone, like BIRD with a config file
  meshless rr --config rr.yaml --admin 127.0.0.1:5474 --metrics-port 9094 --data-dir /var/lib/meshless/rr

rr.yaml (minimal):
  asNumber: 65000
  routerID: 10.0.0.254
  clusterID: 10.0.0.254
  listen: 10.0.0.254:179              # default: the router id, port 179
  peers:
    - { address: 10.0.0.1, asNumber: 65000, rrClient: true }
    - { address: 10.0.9.2, asNumber: 65100, password: { file: /etc/meshless/tor-2.key }, ttlSecurity: 1 }
    - { address: 10.0.0.2, asNumber: 65000, rrClient: true, passive: true }
    - { address: 10.0.9.1, asNumber: 65100, filters: [tor] }
  filters:
    tor: { exportV4: [{ action: Accept }], importV4: [{ action: Accept }] }
  routes:
    - { prefix: 10.10.0.0/24, nextHop: 10.0.0.5, communities: ["65000:100"] }
`;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('rr');
  cmd
    .summary('run the route reflector (datastore mode with --node, standalone with --config)')
    .description('Run the BGP route reflector. Runs until SIGTERM or Ctrl-C.')
    .option('--config <file>', 'standalone: rr.yaml with asNumber, routerID, clusterID, listen, peers, routes, filters')
    .option('--node <name>', 'datastore mode: the Node this reflector is (spec.bgp.routeReflectorClusterID)')
    .option('--sync <host:port,...>', 'datastore mode: sync servers (env MESHLESS_SYNC)')
    .option(
      '--datastore <host:port>',
      'datastore mode: datastore API for LearnedRoute writes (env MESHLESS_DATASTORE; "none": do not publish)',
    )
    .option('--pool-aggregates', 'datastore mode: also advertise each exportable IPPool CIDR')
    .option('--admin <host:port>', 'gRPC admin API address (default 127.0.0.1:5474; "none" to disable)')
    .option('--metrics-port <port>', 'Prometheus /metrics and health port')
    .option('--data-dir <dir>', 'LMDB directory for warm restart')
    .option(
      '--bgp-secrets-dir <dir>',
      'datastore mode: BGPPeer password secrets as <dir>/<secret name>/<key> (env MESHLESS_BGP_SECRETS_DIR; default /etc/meshless/bgp-secrets)',
    )
    .option(
      '--insecure',
      'serve the admin API in plain text without authentication (env MESHLESS_INSECURE=true); without it, --credentials DIR is required unless --admin none',
    )
    .addHelpText('after', EXAMPLES)
    .action(async () => {
      // The global --datastore (the API the resource commands use) has the same name: commander
      // hands `rr --datastore X` to whichever parses it first, so read both levels together.
      const opts = cmd.optsWithGlobals<{
        config?: string;
        node?: string;
        sync?: string;
        datastore?: string;
        poolAggregates?: boolean;
        admin?: string;
        metricsPort?: string;
        dataDir?: string;
        bgpSecretsDir?: string;
        insecure?: boolean;
      }>();
      if ((opts.config === undefined) === (opts.node === undefined))
        throw new CliError('rr: give either --config FILE (standalone) or --node NAME (datastore mode)');
      const tls = tlsSettings(ctx, cmd, opts.insecure);
      if (opts.node !== undefined) {
        await runDatastoreMode(ctx, { ...opts, node: opts.node, ...tls });
        return;
      }
      const rr = await import('../../../rr/index.js');
      let config;
      try {
        const c = rr.loadStandaloneConfig(opts.config!);
        const metricsPort = opts.metricsPort === undefined ? c.service.metricsPort : Number(opts.metricsPort);
        if (metricsPort !== false && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) {
          throw new CliError(`rr: --metrics-port must be a port number 0-65535, got '${opts.metricsPort}'`);
        }
        config = rr.withServiceOverrides(c, {
          ...(opts.admin !== undefined ? { adminListen: opts.admin } : {}),
          metricsPort,
          ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
        });
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`rr: ${oneLine(err)}`, { cause: err });
      }
      const { log, shutdown } = await serviceRuntime('rr');
      try {
        const handle = await rr.startStandalone(config, {
          logger: log,
          tls: { credentials: tls.credentials ?? '', insecure: tls.insecure },
        });
        shutdown.add('rr', () => handle.close());
        log.info(
          {
            asNumber: config.reflector.asNumber,
            routerId: config.reflector.routerId,
            peers: config.peers.length,
            admin: handle.adminAddress,
          },
          'route reflector started',
        );
      } catch (err) {
        throw new CliError(`rr failed to start: ${oneLine(err)}`, { cause: err });
      }
    });
}

/** The reflector's credentials (--credentials or MESHLESS_CREDENTIALS) and --insecure (or MESHLESS_INSECURE=true). */
function tlsSettings(
  ctx: CliContext,
  cmd: Command,
  insecureFlag: boolean | undefined,
): { credentials?: string; insecure: boolean } {
  const dir = cmd.optsWithGlobals<{ credentials?: string }>().credentials ?? ctx.io.env.MESHLESS_CREDENTIALS;
  const insecure = insecureFlag === true || ctx.io.env.MESHLESS_INSECURE === 'true';
  return { ...(dir && dir !== 'none' ? { credentials: dir } : {}), insecure };
}

async function runDatastoreMode(
  ctx: CliContext,
  opts: {
    node: string;
    sync?: string;
    datastore?: string;
    poolAggregates?: boolean;
    admin?: string;
    metricsPort?: string;
    dataDir?: string;
    bgpSecretsDir?: string;
    credentials?: string;
    insecure: boolean;
  },
): Promise<void> {
  const env = ctx.io.env;
  const sync = (opts.sync ?? env.MESHLESS_SYNC ?? '127.0.0.1:5473')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of sync)
    if (!isHostPort(s)) throw new CliError(`rr: --sync must be HOST:PORT[,HOST:PORT...], got '${s}'`);
  const datastore = opts.datastore ?? env.MESHLESS_DATASTORE ?? '127.0.0.1:5470';
  if (datastore !== 'none' && !isHostPort(datastore))
    throw new CliError(`rr: --datastore must be HOST:PORT or none, got '${datastore}'`);
  const admin = opts.admin ?? '127.0.0.1:5474';
  if (admin !== 'none' && !isHostPort(admin))
    throw new CliError(`rr: --admin must be HOST:PORT or none, got '${admin}'`);
  const metricsPort = opts.metricsPort === undefined ? false : Number(opts.metricsPort);
  if (metricsPort !== false && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) {
    throw new CliError(`rr: --metrics-port must be a port number 0-65535, got '${opts.metricsPort}'`);
  }
  const rr = await import('../../../rr/index.js');
  const { log, shutdown } = await serviceRuntime('rr', { node: opts.node });
  try {
    const handle = await rr.startDatastoreMode({
      node: opts.node,
      syncEndpoints: sync,
      ...(datastore !== 'none' ? { datastore } : {}),
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      adminListen: admin === 'none' ? false : admin,
      metricsPort,
      poolAggregates: opts.poolAggregates === true,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      insecure: opts.insecure,
      ...((opts.bgpSecretsDir ?? env.MESHLESS_BGP_SECRETS_DIR)
        ? { bgpSecretsDir: opts.bgpSecretsDir ?? env.MESHLESS_BGP_SECRETS_DIR }
        : {}),
      logger: log,
    });
    shutdown.add('rr', () => handle.close());
    log.info({ sync, datastore, admin }, 'route reflector started; waiting for the datastore view');
  } catch (err) {
    throw new CliError(`rr failed to start: ${oneLine(err)}`, { cause: err });
  }
}
