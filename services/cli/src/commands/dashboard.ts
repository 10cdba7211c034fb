// `meshless dashboard`: the live web dashboard. The service module (gRPC clients, the page) is
// imported only when the command runs, like every service command.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerService } from './service.js';
import type { DashboardConfig } from '../../../dashboard/index.js';

export function register(program: Command, ctx: CliContext): void {
  registerService(program, ctx, {
    name: 'dashboard',
    summary: 'serve a live web dashboard of the cluster: nodes and agents, sync servers, BGP sessions, IPAM, changes',
    async load() {
      const { dashboardConfigSpec, runDashboard } = await import('../../../dashboard/index.js');
      return {
        config: dashboardConfigSpec,
        flags: [
          ['--listen <host:port>', 'listen'],
          ['--datastore <host:port>', 'datastore'],
          ['--rr <host:port,...>', 'rr'],
          ['--metrics <[name=]url,...>', 'metrics'],
          ['--interval <duration>', 'interval'],
        ],
        examples: `  meshless dashboard                                   # http://127.0.0.1:5480/, datastore 127.0.0.1:5470
  meshless dashboard --listen 0.0.0.0:5480 --rr 10.0.0.250:5474,10.0.0.251:5474
  meshless dashboard --metrics sync-0=http://10.0.0.7:9091/metrics,node-a1=http://10.0.1.1:9092/metrics
  MESHLESS_RR=127.0.0.1:5474 MESHLESS_METRICS=http://127.0.0.1:9091/metrics meshless dashboard`,
        async start(config: DashboardConfig, log) {
          return runDashboard(config, log);
        },
      };
    },
  });
}
