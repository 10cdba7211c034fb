// `meshless agent`: the node agent: follows the sync servers as one node, keeps the node's view
// in LMDB (a restart resumes, no snapshot), logs the changes that arrive.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerService } from './service.js';
import type { AgentConfig } from '../../../agent/index.js';

export function register(program: Command, ctx: CliContext): void {
  registerService(program, ctx, {
    name: 'agent',
    summary: "run a node agent: follows the sync servers and keeps this node's view",
    async load() {
      const { agentConfigSpec, runAgent } = await import('../../../agent/index.js');
      return {
        config: agentConfigSpec,
        flags: [
          ['--node <name>', 'node'],
          ['--sync <host:port,...>', 'sync'],
          ['--syncer <type>', 'syncer'],
          ['--state-dir <dir>', 'stateDir'],
          ['--dataplane <mode>', 'dataplane'],
          ['--block-route <type>', 'blockRoute'],
          ['--netns <name>', 'netns'],
          ['--metrics-port <port>', 'metricsPort'],
          ['--standby <true|false>', 'standby'],
        ],
        examples: `  meshless agent --node node-1                          # sync server at 127.0.0.1:5473
  meshless agent --node node-1 --sync 10.0.0.7:5473,10.0.0.8:5473 --state-dir /var/lib/meshless
  meshless agent --node node-1 --sync 10.0.0.7:5473 --dataplane linux   # as root: program this node's routes
  meshless agent --node node-1 --sync 10.0.0.7:5473,10.0.0.8:5473 --standby false   # no idle connection to the failover server
  MESHLESS_NODE=node-1 MESHLESS_SYNC=sync.example:5473 meshless agent`,
        async start(config: AgentConfig, log) {
          const running = await runAgent(config, { log });
          return { close: () => running.stop() };
        },
      };
    },
  });
}
