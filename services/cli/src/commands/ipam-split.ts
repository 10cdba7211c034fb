// `meshless ipam split NUMBER (--cidr CIDR | --name POOL)`: calicoctl's pool split. The pool is
// replaced by NUMBER (a power of 2) pools of equal size that together cover it, each keeping the
// original's settings (block size, selectors, encapsulation, disabled, ...), named
// `<pool>-split-<i>` in address order. Every child must still hold whole blocks (child prefix
// length <= blockSize), so every existing IPAM block and allocation lies inside exactly one
// child and stays valid: nothing is re-addressed.
//
// Calico asks for `calicoctl datastore migrate lock` around the split. Meshless has no lock: the
// original pool is deleted (pools may not overlap) and the children created right after, so an
// address request that lands in between finds no pool and is retried by the CNI runtime. The
// command says so and stops before touching anything unless --yes is given or it is confirmed.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import {
  API_VERSION,
  blockAt,
  formatCidr,
  parseCidr,
  type IPPool,
  type Resource,
} from '../../../shared/resources/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../failure.js';

/** The children of `cidr` split `count` ways (count a power of 2), in address order. */
export function splitCidr(cidr: string, count: number, blockSize: number): string[] {
  if (!Number.isInteger(count) || count < 2 || (count & (count - 1)) !== 0)
    throw new CliError(`NUMBER must be a power of 2 of at least 2, got ${count}`);
  const parent = parseCidr(cidr);
  const prefix = parent.prefixLength + Math.log2(count);
  if (prefix > blockSize) {
    throw new CliError(
      `cannot split ${parent.text} into ${count}: each pool would be a /${prefix}, smaller than its blocks (blockSize ${blockSize})`,
    );
  }
  return Array.from({ length: count }, (_, i) => formatCidr(blockAt(parent, prefix, i)));
}

async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  const rl = createInterface({ input: ctx.io.stdin, terminal: false });
  ctx.print(question);
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

export function registerSplit(ipam: Command, ctx: CliContext): void {
  const split = ipam.command('split <NUMBER>');
  split
    .summary('split an IP pool into NUMBER (a power of 2) equal pools')
    .description(
      'Replace an IP pool by NUMBER smaller pools of equal size with its settings; existing blocks and addresses stay where they are.',
    )
    .option('--cidr <cidr>', 'CIDR of the IP pool to split')
    .option('--name <pool>', 'name of the IP pool to split')
    .option('--yes', 'do not ask for confirmation')
    .addHelpText(
      'after',
      '\nExamples:\n  meshless ipam split --cidr=172.16.0.0/16 2        # two /17 pools\n  meshless ipam split --name default-ipv4-ippool 4 --yes\n',
    )
    .action(async (numberArg: string) => {
      const opts = split.opts<{ cidr?: string; name?: string; yes?: boolean }>();
      if ((opts.cidr === undefined) === (opts.name === undefined))
        throw new CliError('give the pool to split with either --cidr CIDR or --name POOL');
      if (!/^\d+$/.test(numberArg)) throw new CliError(`NUMBER must be a power of 2 of at least 2, got '${numberArg}'`);
      const store = await ctx.datastore(split);
      const pools = (await store.list('IPPool', '', '')).items as IPPool[];
      const wanted = opts.cidr === undefined ? undefined : parseCidr(opts.cidr).text;
      const pool = pools.find((p) =>
        wanted === undefined ? p.metadata.name === opts.name : parseCidr(p.spec.cidr).text === wanted,
      );
      if (!pool)
        throw new CliError(`no IP pool ${wanted === undefined ? `named '${opts.name}'` : `with CIDR ${wanted}`}`);
      const cidrs = splitCidr(pool.spec.cidr, Number(numberArg), pool.spec.blockSize);
      const children = cidrs.map((cidr, i) => ({
        apiVersion: API_VERSION,
        kind: 'IPPool',
        metadata: {
          name: `${pool.metadata.name}-split-${i}`,
          ...(pool.metadata.labels ? { labels: pool.metadata.labels } : {}),
        },
        spec: { ...pool.spec, cidr },
      })) as unknown as Resource[];
      for (const child of children) {
        if (pools.some((p) => p.metadata.name === child.metadata.name))
          throw new CliError(`an IP pool named '${child.metadata.name}' exists already`);
      }
      if (!opts.yes) {
        const question =
          `Split IP pool '${pool.metadata.name}' (${pool.spec.cidr}) into ${cidrs.join(', ')}?\n` +
          'Address assignments that arrive during the split (well under a second) fail and are retried. [y/N] ';
        if (!(await confirm(ctx, question))) throw new CliError('split cancelled: nothing was changed');
      }
      await store.delete('IPPool', '', pool.metadata.name);
      const created: string[] = [];
      try {
        for (const child of children) created.push((await store.create(child)).metadata.name);
      } catch (err) {
        // Put the original back so the cluster is never left with part of its pool.
        for (const name of created) await store.delete('IPPool', '', name).catch(() => undefined);
        await store.create({
          apiVersion: API_VERSION,
          kind: 'IPPool',
          metadata: { name: pool.metadata.name, ...(pool.metadata.labels ? { labels: pool.metadata.labels } : {}) },
          spec: pool.spec,
        } as unknown as Resource);
        throw new CliError(
          `split failed, IP pool '${pool.metadata.name}' restored: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      ctx.print(
        `Successfully split IP pool ${pool.spec.cidr} into ${cidrs.length} pools: ${created.map((n, i) => `${n} (${cidrs[i]})`).join(', ')}\n`,
      );
    });
}
