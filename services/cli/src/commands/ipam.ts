// `meshless ipam show [--show-blocks]`: calicoctl's utilisation table (go-pretty box style),
// one "IP Pool" row per pool and, with --show-blocks, a "Block" row per IPAM block after its pool.
// Blocks that no pool contains any more are listed last (calicoctl's orphaned blocks). Without
// IPReservations there is no IPS RESERVED column: FREE = TOTAL - IN USE.
import type { Command } from 'commander';
import { NotFoundError } from '../../../shared/errors/index.js';
import { API_VERSION, type Resource } from '../../../shared/resources/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../failure.js';
import type { IpamUsage } from '../store.js';
import { boxTable, formatG, formatPercent } from '../table.js';

const HEADINGS = ['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE'];

function row(grouping: string, cidr: string, total: number, inUse: number): string[] {
  const free = Math.max(0, total - inUse);
  return [grouping, cidr, formatG(total), `${formatG(inUse)} (${formatPercent(inUse, total)})`, `${formatG(free)} (${formatPercent(free, total)})`];
}

/** The table `ipam show` prints for `usage`. */
export function ipamTable(usage: IpamUsage, showBlocks: boolean): string {
  const rows: string[][] = [];
  for (const pool of usage.pools) {
    rows.push(row('IP Pool', pool.cidr, pool.addressesTotal, pool.addressesInUse));
    if (showBlocks) {
      for (const b of usage.blocks.filter((b) => b.pool === pool.name)) rows.push(row('Block', b.cidr, b.addressesTotal, b.addressesInUse));
    }
  }
  if (showBlocks) {
    for (const b of usage.blocks.filter((b) => !usage.pools.some((p) => p.name === b.pool))) rows.push(row('Block', b.cidr, b.addressesTotal, b.addressesInUse));
  }
  return boxTable(HEADINGS, rows, ['left', 'left', 'right', 'right', 'right']);
}

export function register(program: Command, ctx: CliContext): void {
  const ipam = program.command('ipam').summary('IP address management: pool and block usage').description('IP address management.');
  const show = ipam.command('show');
  show
    .summary('show address usage per IP pool (and per block)')
    .description(
      'Show how many addresses each IP pool holds and how many are in use. Nodes get addresses in ' +
        'blocks (IPPool spec.blockSize); --show-blocks adds one row per block.',
    )
    .option('--show-blocks', 'also show each IPAM block')
    .addHelpText('after', '\nExamples:\n  meshless ipam show\n  meshless ipam show --show-blocks\n')
    .action(async () => {
      const store = await ctx.datastore(show);
      const usage = await store.ipamShow();
      ctx.print(ipamTable(usage, show.opts<{ showBlocks?: boolean }>().showBlocks === true));
    });

  // calicoctl ipam configure: the cluster's IPAMConfiguration (named "default"), created when absent.
  const configure = ipam.command('configure');
  configure
    .summary('set IPAM options (the IPAMConfiguration named default)')
    .description('Set cluster-wide IPAM options, stored in the IPAMConfiguration named "default".')
    .option('--strictaffinity <true|false>', 'only use a node\'s own blocks (never borrow addresses from another node\'s block)')
    .option('--max-blocks-per-host <n>', 'most blocks one node may hold (0: no limit)')
    .addHelpText('after', '\nExamples:\n  meshless ipam configure --strictaffinity=true\n  meshless ipam configure --max-blocks-per-host 4\n')
    .action(async () => {
      const opts = configure.opts<{ strictaffinity?: string; maxBlocksPerHost?: string }>();
      if (opts.strictaffinity === undefined && opts.maxBlocksPerHost === undefined) {
        throw new CliError('nothing to configure: give --strictaffinity=true|false or --max-blocks-per-host N');
      }
      if (opts.strictaffinity !== undefined && opts.strictaffinity !== 'true' && opts.strictaffinity !== 'false') {
        throw new CliError(`invalid --strictaffinity '${opts.strictaffinity}': use true or false`);
      }
      const max = opts.maxBlocksPerHost === undefined ? undefined : Number(opts.maxBlocksPerHost);
      if (max !== undefined && (!Number.isInteger(max) || max < 0 || max > 2147483647)) {
        throw new CliError(`invalid --max-blocks-per-host '${opts.maxBlocksPerHost}': use a whole number 0 or more`);
      }
      const store = await ctx.datastore(configure);
      let spec: Record<string, unknown> = {};
      try {
        spec = { ...((await store.get('IPAMConfiguration', '', 'default')).spec as unknown as Record<string, unknown>) };
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      if (opts.strictaffinity !== undefined) spec.strictAffinity = opts.strictaffinity === 'true';
      if (max !== undefined) spec.maxBlocksPerHost = max;
      await store.apply({ apiVersion: API_VERSION, kind: 'IPAMConfiguration', metadata: { name: 'default' }, spec } as unknown as Resource);
      if (opts.strictaffinity !== undefined) ctx.print(`Successfully set StrictAffinity to: ${opts.strictaffinity}\n`);
      if (max !== undefined) ctx.print(`Successfully set MaxBlocksPerHost to: ${max}\n`);
    });
}
