// `meshless rr`: the route reflector. Standalone mode reads a BIRD-style rr.yaml (peers, static
// routes, filters); see services/rr/README.md. The service is imported only when the command runs.
import type { Command } from 'commander';
import { createLogger } from '../../../shared/log/index.js';
import { Shutdown } from '../../../shared/telemetry/index.js';
import type { CliContext } from '../context.js';
import { CliError, oneLine } from '../failure.js';

const EXAMPLES = `
Examples:
  meshless rr --config rr.yaml                          # standalone, like BIRD with a config file
  meshless rr --config rr.yaml --admin 127.0.0.1:5474 --metrics-port 9094 --data-dir /var/lib/meshless/rr

rr.yaml (minimal):
  asNumber: 65000
  routerID: 10.0.0.254
  clusterID: 10.0.0.254
  listen: 10.0.0.254:179
  peers:
    - { address: 10.0.0.1, asNumber: 65000, rrClient: true }
    - { address: 10.0.0.2, asNumber: 65000, rrClient: true, passive: true }
    - { address: 10.0.9.1, asNumber: 65100, filters: [tor] }
  filters:
    tor: { exportV4: [{ action: Accept }], importV4: [{ action: Accept }] }
  routes:
    - { prefix: 10.10.0.0/24, nextHop: 10.0.0.5, communities: ["65000:100"] }
`;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('rr')
    .summary('run the route reflector (standalone with --config rr.yaml)')
    .description('Run the BGP route reflector. Runs until SIGTERM or Ctrl-C.')
    .requiredOption('--config <file>', 'rr.yaml: asNumber, routerID, clusterID, listen, peers, routes, filters')
    .option('--admin <host:port>', 'gRPC admin API address (overrides adminListen; "none" to disable)')
    .option('--metrics-port <port>', 'Prometheus /metrics and health port (overrides metricsPort)')
    .option('--data-dir <dir>', 'LMDB directory for warm restart (overrides dataDir)')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: { config: string; admin?: string; metricsPort?: string; dataDir?: string }) => {
      const rr = await import('../../../rr/index.js');
      let config;
      try {
        const c = rr.loadStandaloneConfig(opts.config);
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
      const log = createLogger('rr');
      const shutdown = new Shutdown(log);
      shutdown.installSignalHandlers();
      try {
        const handle = await rr.startStandalone(config, { logger: log });
        shutdown.add('rr', () => handle.close());
        ctx.io.stderr.write(`meshless rr: AS ${config.reflector.asNumber}, router id ${config.reflector.routerId}, ${config.peers.length} peers${handle.adminAddress ? `, admin ${handle.adminAddress}` : ''}\n`);
      } catch (err) {
        throw new CliError(`rr failed to start: ${oneLine(err)}`, { cause: err });
      }
    });
}
