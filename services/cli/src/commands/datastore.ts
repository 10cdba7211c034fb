// `meshless datastore`: the datastore service (gRPC API over NATS JetStream KV), and
// `meshless datastore import|export` (datastore-io.ts).
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerImportExport } from './datastore-io.js';
import { registerService } from './service.js';

export function register(program: Command, ctx: CliContext): void {
  const cmd = registerService(program, ctx, {
    name: 'datastore',
    summary: 'run the datastore service: the gRPC API over NATS JetStream KV',
    async load() {
      const { datastoreConfig, runDatastore } = await import('../../../datastore/index.js');
      return {
        config: datastoreConfig,
        flags: [
          ['--listen <host:port>', 'listen'],
          ['--nats <url>', 'nats'],
          ['--metrics-port <port>', 'metricsPort'],
          ['--insecure', 'insecure'],
          ['--nats-credentials <dir>', 'natsCredentials'],
        ],
        examples: `  meshless datastore --credentials /etc/meshless/datastore   # mutual TLS (meshless certs issue --role datastore)
  meshless datastore --insecure                        # plain text, no authentication; 127.0.0.1:5470
  meshless datastore --listen 0.0.0.0:5470 --nats nats://10.0.0.5:4222 --metrics-port 9091
  MESHLESS_TOMBSTONE_RETENTION=2h meshless datastore --config datastore.yaml`,
        start: runDatastore,
      };
    },
  });
  registerImportExport(cmd, ctx);
}
