// `meshless ipam show [--show-blocks]`: calicoctl's utilisation table (go-pretty box style),
// one "IP Pool" row per pool and, with --show-blocks, a "Block" row per IPAM block after its pool.
// Blocks that no pool contains any more are listed last (calicoctl's orphaned blocks). Without
// IPReservations there is no IPS RESERVED column: FREE = TOTAL - IN USE.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
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
}
