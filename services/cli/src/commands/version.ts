// `meshless version`: calicoctl's version. The client's version is the package's; the cluster's
// comes from the ClusterInformation named `default`, where calicoctl reads it (calicoVersion and
// clusterType, as calico-node or an imported Calico export wrote them), plus the datastore's
// address and revision.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { NotFoundError } from '../../../shared/errors/index.js';
import { PROJECT_ROOT } from '../../../shared/paths/index.js';
import type { CliContext } from '../context.js';

/** The `meshless` package version, from package.json (sources and compiled bundles alike). */
export function clientVersion(): string {
  try {
    return (
      (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ??
      'unknown'
    );
  } catch {
    return 'unknown';
  }
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('version');
  cmd
    .summary("show the client version and the cluster's")
    .description('Show the version of this client and, unless --client is given, of the cluster it talks to.')
    .option('--client', 'only the client version (no datastore needed)')
    .action(async () => {
      const pad = (s: string) => s.padEnd(19);
      ctx.print(`${pad('Client Version:')}v${clientVersion()}\n`);
      if (cmd.opts<{ client?: boolean }>().client) return;
      const store = await ctx.datastore(cmd);
      let version = 'unknown';
      let type = 'unknown';
      try {
        const info = await store.get('ClusterInformation', '', 'default');
        if (info.kind === 'ClusterInformation') {
          version = info.spec.calicoVersion || version;
          type = info.spec.clusterType || type;
        }
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      const { revision } = await store.list('ClusterInformation', '', '');
      ctx.print(
        `${pad('Cluster Version:')}${version}\n${pad('Cluster Type:')}${type}\n${pad('Datastore:')}${store.address} (revision ${revision})\n`,
      );
    });
}
