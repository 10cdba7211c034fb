// The subcommands that run until stopped (invocation.ts LONG_RUNNING). A service process registers
// only its own (main.ts), each imported on its own: `meshless agent` loads neither the other
// commands nor what they need (the YAML printer and resource schemas of `meshless datastore
// export`, the tables of `meshless rr peers`).
import type { CommandModule } from './index.js';

const SERVICES: Record<string, () => Promise<CommandModule>> = {
  datastore: () => import('./datastore.js'),
  sync: () => import('./sync.js'),
  agent: () => import('./agent.js'),
  rr: () => import('./rr.js'),
  'kube-controller': () => import('./kube-controller.js'),
  dashboard: () => import('./dashboard.js'),
  demo: () => import('./demo.js'),
};

/** The command module of service `name` (a subcommand in LONG_RUNNING), as a one-item list. */
export async function serviceCommands(name: string): Promise<readonly CommandModule[]> {
  const load = SERVICES[name];
  if (!load) throw new Error(`no service command '${name}'`);
  return [await load()];
}
