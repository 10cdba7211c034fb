// `meshless sync`: a sync server (Typha's role): one datastore watch, streams to agents and
// route reflectors. SIGTERM drains: every client is sent to another server and resumes there.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerService } from './service.js';
import type { SyncConfig } from '../../../sync/index.js';

export function register(program: Command, ctx: CliContext): void {
  registerService(program, ctx, {
    name: 'sync',
    summary: 'run a sync server: fans the datastore out to node agents and route reflectors',
    async load() {
      const { syncConfigSpec, runSync } = await import('../../../sync/index.js');
      return {
        config: syncConfigSpec,
        flags: [
          ['--listen <host:port>', 'listen'],
          ['--advertise <host:port>', 'advertise'],
          ['--nats <url>', 'nats'],
          ['--state-dir <dir>', 'stateDir'],
          ['--server-id <id>', 'serverId'],
          ['--metrics-port <port>', 'metricsPort'],
          ['--insecure', 'insecure'],
          ['--nats-credentials <dir>', 'natsCredentials'],
          ['--workers <n>', 'workers'],
        ],
        examples: `  meshless sync --credentials /etc/meshless/sync       # mutual TLS (meshless certs issue --role sync-server)
  meshless sync --insecure                             # plain text; 127.0.0.1:5473, NATS at nats://127.0.0.1:4222
  meshless sync --listen 0.0.0.0:5473 --advertise 10.0.0.7:5473 --nats nats://10.0.0.5:4222
  MESHLESS_MAX_CONNECTIONS=30000 meshless sync --state-dir /var/lib/meshless/sync
  meshless sync --insecure --workers 0                 # a worker process per core serves the streams (default 1: one event loop)`,
        // The drain may take all of --drain-timeout; closing the streams and NATS gets 10 s more.
        shutdownDeadlineMs: (config: SyncConfig) => config.drainTimeout + 10_000,
        async start(config: SyncConfig, log) {
          const running = await runSync(config, { log });
          return { close: () => running.stop(true) };
        },
      };
    },
  });
}
