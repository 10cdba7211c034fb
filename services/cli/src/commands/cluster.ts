// `meshless cluster diags`: calicoctl's diagnostics bundle, for a bug report or a support case.
// One .tar.gz with what an engineer asks for first, each file written by the command that shows
// it interactively:
//   version.txt                      client and cluster versions, datastore address and revision
//   resources/<Kind>.yaml            every resource of every kind (as `datastore export`)
//   ipam/show.txt, ipam/check.txt    `ipam show --show-blocks` figures and `ipam check`
//   bgp/<reflector>/{peers,routes}.txt  `bgp peers` / `bgp routes` of each --rr reflector
//   errors.txt                       what could not be collected, and why (the rest still is)
// Secrets never enter it: BGP passwords are secretKeyRefs in the resources, keys live in files.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError, oneLine } from '../failure.js';
import { yamlPrinter } from '../output.js';
import { EXPORTED, withoutServerFields } from './datastore-io.js';
import { checkIpam, formatReport } from './ipam-check.js';
import { clientVersion } from './version.js';
import { isHostPort } from '../../../shared/config/index.js';

export function register(program: Command, ctx: CliContext): void {
  const cluster = program
    .command('cluster')
    .summary('cluster-wide operations: diagnostics')
    .description('Cluster-wide operations.');
  const diags = cluster.command('diags');
  diags
    .summary('collect versions, resources, IPAM and BGP state into one .tar.gz')
    .description(
      'Collect diagnostics (versions, every resource, IPAM usage and consistency, reflector sessions and tables) into a .tar.gz for a bug report.',
    )
    .option('-o, --output <file>', 'where to write the bundle', 'meshless-diagnostics.tar.gz')
    .option('--rr <host:port,...>', 'route reflector admin APIs to include (env MESHLESS_RR)')
    .addHelpText(
      'after',
      '\nExamples:\n  meshless cluster diags\n  meshless cluster diags -o /tmp/diags.tar.gz --rr 127.0.0.1:5474,127.0.0.1:5475\n',
    )
    .action(async () => {
      const o = diags.opts<{ output: string; rr?: string }>();
      const reflectors = (o.rr ?? ctx.io.env.MESHLESS_RR ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const r of reflectors)
        if (!isHostPort(r)) throw new CliError(`invalid --rr: must be HOST:PORT[,HOST:PORT...], got '${r}'`);
      const store = await ctx.datastore(diags);
      const dir = mkdtempSync(join(tmpdir(), 'meshless-diags-'));
      const root = join(dir, 'meshless-diagnostics');
      const errors: string[] = [];
      const write = (path: string, text: string) => {
        mkdirSync(join(root, path, '..'), { recursive: true });
        writeFileSync(join(root, path), text);
      };
      const collect = async (what: string, fn: () => Promise<void>) => {
        try {
          await fn();
        } catch (err) {
          errors.push(`${what}: ${oneLine(err)}`);
        }
      };
      try {
        let revision = 0;
        const counts: string[] = [];
        const byKind = new Map<string, unknown[]>();
        const toYaml = await yamlPrinter();
        for (const kind of EXPORTED) {
          await collect(`resources ${kind}`, async () => {
            const res = await store.list(kind, '', '');
            revision = Math.max(revision, res.revision);
            byKind.set(kind, res.items);
            counts.push(`${kind.padEnd(34)}${res.items.length}`);
            if (res.items.length)
              write(`resources/${kind}.yaml`, res.items.map((r) => `---\n${toYaml(withoutServerFields(r))}`).join(''));
          });
        }
        write(
          'version.txt',
          `Client Version:    v${clientVersion()}\nDatastore:         ${store.address} (revision ${revision})\nCollected:         ${new Date().toISOString()}\n\nResources:\n${counts.join('\n')}\n`,
        );
        await collect('ipam show', async () => {
          const u = await store.ipamShow();
          const pools = u.pools.map((p) => `${p.name} ${p.cidr}: ${p.addressesInUse} of ${p.addressesTotal} in use`);
          const blocks = u.blocks.map(
            (b) =>
              `  block ${b.cidr} (pool ${b.pool || '-'}, node ${b.node || '-'}): ${b.addressesInUse} of ${b.addressesTotal}`,
          );
          write('ipam/show.txt', `${[...pools, ...blocks].join('\n')}\n`);
        });
        await collect('ipam check', async () => {
          const [blocks, handles, endpoints, nodes] = await Promise.all(
            ['IPAMBlock', 'IPAMHandle', 'WorkloadEndpoint', 'Node'].map((k) => store.list(k as 'Node', '', '')),
          );
          write(
            'ipam/check.txt',
            formatReport(
              checkIpam(
                { blocks: blocks!.items, handles: handles!.items, endpoints: endpoints!.items, nodes: nodes!.items },
                Date.now(),
                60_000,
              ),
            ),
          );
        });
        if (reflectors.length) {
          const rr = await import('../../../rr/index.js');
          const { formatPeers, formatRoutes } = await import('./bgp.js');
          const { timeoutMs, credentials } = ctx.globals(diags);
          for (const address of reflectors) {
            await collect(`reflector ${address}`, async () => {
              const client = rr.createRrAdminClient(address, {
                deadlineMs: timeoutMs,
                ...(credentials ? { credentials } : {}),
              });
              try {
                const [status, peers, routes] = await Promise.all([client.status(), client.peers(), client.routes({})]);
                const name = address.replace(/[^A-Za-z0-9.-]/g, '_');
                write(`bgp/${name}/peers.txt`, formatPeers(peers));
                write(`bgp/${name}/routes.txt`, formatRoutes(routes, status));
              } finally {
                client.close();
              }
            });
          }
        }
        if (errors.length) write('errors.txt', `${errors.join('\n')}\n`);
        const output = resolve(o.output);
        await promisify(execFile)('tar', ['-czf', output, '-C', dir, 'meshless-diagnostics']);
        const kinds = [...byKind.values()].filter((v) => v.length).length;
        ctx.print(
          `Diagnostics written to ${output} (${counts.length} kinds listed, ${kinds} with resources, revision ${revision}${reflectors.length ? `, ${reflectors.length} reflector(s)` : ''}${errors.length ? `; ${errors.length} item(s) could not be collected, see errors.txt` : ''})\n`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
}
