// `meshless ipam`, calicoctl's subcommands:
//   show [--show-blocks]   the utilisation table (go-pretty box style), one "IP Pool" row per pool
//                          and, with --show-blocks, a "Block" row per IPAM block after its pool.
//                          Blocks that no pool contains any more are listed last (calicoctl's
//                          orphaned blocks). Without IPReservations there is no IPS RESERVED
//                          column: FREE = TOTAL - IN USE.
//   show --ip ADDR         whether an address is in use, its handle, block and attributes
//   show --show-borrowed   calicoctl's borrowed-IP table
//   release --ip ADDR      releases one address (repeatable)
//   check [--fix]          inconsistencies between IPAM, endpoints and nodes (ipam-check.ts)
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { NotFoundError } from '../../../shared/errors/index.js';
import {
  addressAt,
  addressOrdinal,
  API_VERSION,
  cidrContains,
  ipToString,
  tryParseIp,
  type Resource,
} from '../../../shared/resources/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../failure.js';
import type { IpamUsage, Store } from '../store.js';
import { boxTable, formatG, formatPercent } from '../table.js';
import { checkIpam, formatReport, problemCount } from './ipam-check.js';
import { registerSplit } from './ipam-split.js';

interface BlockView {
  cidr: string;
  affinity?: string;
  allocations: (number | null)[];
  attributes: { handle_id?: string; secondary?: Record<string, string> }[];
}

const blockOf = (r: Resource) => r.spec as unknown as BlockView;
const ownerOf = (b: BlockView) => (b.affinity?.startsWith('host:') ? b.affinity.slice(5) : '');

/** calicoctl's `ipam show --show-borrowed` table: addresses used by another node than the block's owner. */
export function borrowedTable(blocks: Resource[]): string {
  const rows: string[][] = [];
  for (const r of blocks) {
    const b = blockOf(r);
    const owner = ownerOf(b);
    b.allocations.forEach((index, ordinal) => {
      if (index === null) return;
      const sec = b.attributes[index]?.secondary ?? {};
      if (!sec.node || sec.node === owner) return;
      const address = ipToString(addressAt(b.cidr, ordinal));
      rows.push([
        address,
        sec.node,
        b.cidr,
        owner || '(none)',
        sec.pod ? 'pod' : 'other',
        sec.pod ? `${sec.namespace ?? ''}/${sec.pod}` : (b.attributes[index]?.handle_id ?? ''),
      ]);
    });
  }
  return boxTable(['IP', 'BORROWING-NODE', 'BLOCK', 'BLOCK OWNER', 'TYPE', 'ALLOCATED-TO'], rows);
}

/** `ipam show --ip`: the address's state, as calicoctl prints it, plus handle and block. */
export async function describeAddress(store: Store, text: string): Promise<string> {
  const ip = tryParseIp(text);
  if (typeof ip === 'string') throw new CliError(`invalid --ip: ${ip}`);
  const { items: blocks } = await store.list('IPAMBlock', '', '');
  const block = blocks.find((r) => cidrContains(blockOf(r).cidr, ip));
  if (!block) {
    const { items: pools } = await store.list('IPPool', '', '');
    const inPool = pools.some((p) => cidrContains((p.spec as { cidr: string }).cidr, ip));
    return inPool ? `IP ${text} is not currently assigned in a block\n` : `IP ${text} is not in any configured pool\n`;
  }
  const b = blockOf(block);
  const index = b.allocations[Number(addressOrdinal(b.cidr, ip))];
  if (index === null || index === undefined)
    return `IP ${text} is not currently in use (block ${b.cidr}, affinity ${b.affinity ?? 'none'})\n`;
  const attr = b.attributes[index] ?? {};
  const lines = [
    `IP ${text} is in use`,
    `Handle: ${attr.handle_id ?? '(none)'}`,
    `Block: ${b.cidr} (affinity ${b.affinity ?? 'none'})`,
    'Attributes:',
  ];
  for (const [k, v] of Object.entries(attr.secondary ?? {}).sort(([a], [c]) => a.localeCompare(c)))
    lines.push(`  ${k}: ${v}`);
  return lines.join('\n') + '\n';
}

async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  ctx.io.stderr.write(`${question} [y/N] `);
  const rl = createInterface({ input: ctx.io.stdin });
  try {
    for await (const line of rl) return /^y(es)?$/i.test(line.trim());
    return false;
  } finally {
    rl.close();
  }
}

const HEADINGS = ['GROUPING', 'CIDR', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE'];

function row(grouping: string, cidr: string, total: number, inUse: number): string[] {
  const free = Math.max(0, total - inUse);
  return [
    grouping,
    cidr,
    formatG(total),
    `${formatG(inUse)} (${formatPercent(inUse, total)})`,
    `${formatG(free)} (${formatPercent(free, total)})`,
  ];
}

/** The table `ipam show` prints for `usage`. */
export function ipamTable(usage: IpamUsage, showBlocks: boolean): string {
  const rows: string[][] = [];
  for (const pool of usage.pools) {
    rows.push(row('IP Pool', pool.cidr, pool.addressesTotal, pool.addressesInUse));
    if (showBlocks) {
      for (const b of usage.blocks.filter((b) => b.pool === pool.name))
        rows.push(row('Block', b.cidr, b.addressesTotal, b.addressesInUse));
    }
  }
  if (showBlocks) {
    for (const b of usage.blocks.filter((b) => !usage.pools.some((p) => p.name === b.pool)))
      rows.push(row('Block', b.cidr, b.addressesTotal, b.addressesInUse));
  }
  return boxTable(HEADINGS, rows, ['left', 'left', 'right', 'right', 'right']);
}

export function register(program: Command, ctx: CliContext): void {
  const ipam = program
    .command('ipam')
    .summary('IP address management: usage, release, consistency check')
    .description('IP address management.');
  const show = ipam.command('show');
  show
    .summary('show address usage per IP pool (and per block), one address, or borrowed addresses')
    .description(
      'Show how many addresses each IP pool holds and how many are in use. Nodes get addresses in ' +
        'blocks (IPPool spec.blockSize); --show-blocks adds one row per block. --ip shows one ' +
        "address; --show-borrowed lists the addresses nodes use from other nodes' blocks.",
    )
    .option('--show-blocks', 'also show each IPAM block')
    .option('--ip <address>', 'show whether this address is in use, and by what')
    .option('--show-borrowed', "list addresses used by a node other than their block's owner")
    .addHelpText(
      'after',
      '\nExamples:\n  meshless ipam show\n  meshless ipam show --show-blocks\n  meshless ipam show --ip 10.244.0.5\n  meshless ipam show --show-borrowed\n',
    )
    .action(async () => {
      const o = show.opts<{ showBlocks?: boolean; ip?: string; showBorrowed?: boolean }>();
      const store = await ctx.datastore(show);
      if (o.ip !== undefined) {
        ctx.print(await describeAddress(store, o.ip));
        return;
      }
      if (o.showBorrowed) {
        ctx.print(borrowedTable((await store.list('IPAMBlock', '', '')).items));
        return;
      }
      const usage = await store.ipamShow();
      ctx.print(ipamTable(usage, o.showBlocks === true));
    });

  const release = ipam.command('release');
  release
    .summary('release IP addresses (leaked by a workload that is gone)')
    .description(
      'Release addresses in IPAM, as `calicoctl ipam release --ip`. Only release an address no workload uses.',
    )
    .requiredOption('--ip <address>', 'the address to release; repeatable', (v: string, all: string[] = []) => [
      ...all,
      v,
    ])
    .addHelpText('after', '\nExamples:\n  meshless ipam release --ip 10.244.0.5\n')
    .action(async () => {
      const ips = release.opts<{ ip: string[] }>().ip;
      for (const ip of ips)
        if (typeof tryParseIp(ip) === 'string') throw new CliError(`invalid --ip '${ip}': not an IP address`);
      const store = await ctx.datastore(release);
      const r = await store.releaseIps(ips);
      for (const ip of r.released) ctx.print(`Successfully released IP address ${ip}\n`);
      if (r.notAllocated.length > 0)
        throw new CliError(`IP address ${r.notAllocated.join(', ')} is not assigned in IPAM`);
    });

  const check = ipam.command('check');
  check
    .summary('check IPAM against workload endpoints and nodes (and fix what can be fixed)')
    .description(
      'Report addresses allocated with no workload endpoint, endpoints whose address is not allocated, ' +
        'blocks affine to nodes that do not exist, and handles with no allocation. --fix releases the ' +
        'leaked addresses, the blocks of missing nodes and the leaked handles, after a confirmation ' +
        '(--yes skips it). Allocations younger than --grace are not counted (their pods may be starting).',
    )
    .option('--fix', 'release what the check found leaked (asks first)')
    .option('--yes', 'with --fix: do not ask')
    .option('--grace <seconds>', 'ignore allocations younger than this', '60')
    .addHelpText('after', '\nExamples:\n  meshless ipam check\n  meshless ipam check --fix\n')
    .action(async () => {
      const o = check.opts<{ fix?: boolean; yes?: boolean; grace: string }>();
      const grace = Number(o.grace);
      if (!Number.isFinite(grace) || grace < 0) throw new CliError(`invalid --grace '${o.grace}': a number of seconds`);
      const store = await ctx.datastore(check);
      const [blocks, handles, endpoints, nodes] = await Promise.all([
        store.list('IPAMBlock', '', ''),
        store.list('IPAMHandle', '', ''),
        store.list('WorkloadEndpoint', '', ''),
        store.list('Node', '', ''),
      ]);
      const report = checkIpam(
        { blocks: blocks.items, handles: handles.items, endpoints: endpoints.items, nodes: nodes.items },
        Date.now(),
        grace * 1000,
      );
      ctx.print(formatReport(report));
      if (!o.fix) return;
      const fixable = report.leaked.length + report.blocksWithoutNode.length + report.leakedHandles.length;
      if (fixable === 0) {
        ctx.print('Nothing to fix.\n');
        return;
      }
      const question = `Release ${report.leaked.length} leaked addresses, the blocks of ${new Set(report.blocksWithoutNode.map((b) => b.node)).size} missing nodes and ${report.leakedHandles.length} leaked handles?`;
      if (!o.yes && !(await confirm(ctx, question))) {
        ctx.print('Nothing changed.\n');
        return;
      }
      if (report.leaked.length > 0) {
        const r = await store.releaseIps(report.leaked.map((l) => l.address));
        ctx.print(`Released ${r.released.length} addresses.\n`);
      }
      for (const node of new Set(report.blocksWithoutNode.map((b) => b.node))) {
        const r = await store.releaseBlocks(node);
        ctx.print(`Released ${r.released.length} blocks of node ${node}.\n`);
      }
      for (const h of report.leakedHandles) await store.releaseHandle(h);
      if (report.leakedHandles.length > 0) ctx.print(`Deleted ${report.leakedHandles.length} handles.\n`);
      if (problemCount(report) > fixable)
        ctx.print(`${report.unallocated.length} in-use addresses without allocation are left for you to resolve.\n`);
    });

  // calicoctl ipam configure: the cluster's IPAMConfiguration (named "default"), created when absent.
  const configure = ipam.command('configure');
  configure
    .summary('set IPAM options (the IPAMConfiguration named default)')
    .description('Set cluster-wide IPAM options, stored in the IPAMConfiguration named "default".')
    .option(
      '--strictaffinity <true|false>',
      "only use a node's own blocks (never borrow addresses from another node's block)",
    )
    .option('--max-blocks-per-host <n>', 'most blocks one node may hold (0: no limit)')
    .addHelpText(
      'after',
      '\nExamples:\n  meshless ipam configure --strictaffinity=true\n  meshless ipam configure --max-blocks-per-host 4\n',
    )
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
        spec = {
          ...((await store.get('IPAMConfiguration', '', 'default')).spec as unknown as Record<string, unknown>),
        };
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      if (opts.strictaffinity !== undefined) spec.strictAffinity = opts.strictaffinity === 'true';
      if (max !== undefined) spec.maxBlocksPerHost = max;
      await store.apply({
        apiVersion: API_VERSION,
        kind: 'IPAMConfiguration',
        metadata: { name: 'default' },
        spec,
      } as unknown as Resource);
      if (opts.strictaffinity !== undefined) ctx.print(`Successfully set StrictAffinity to: ${opts.strictaffinity}\n`);
      if (max !== undefined) ctx.print(`Successfully set MaxBlocksPerHost to: ${max}\n`);
    });
  registerSplit(ipam, ctx);
}
