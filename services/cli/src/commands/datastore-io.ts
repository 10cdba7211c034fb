// `meshless datastore import FILE|-` and `meshless datastore export`: moving a whole cluster's
// resources in and out, in the form calicoctl uses (`calicoctl get <kind> -o yaml` lists, a
// `kind: List`, or multi-document YAML).
//
// Import validates every document first (one bad document stops it before anything is written),
// then applies them in dependency order (IMPORT_ORDER: cluster configuration, pools and
// reservations before the nodes, blocks and endpoints that refer to them; tiers before policies)
// and reports one line per document: created, updated, unchanged, or failed with the reason; it
// carries on after a failure and exits 1 if any document failed. metadata.resourceVersion, uid
// and creationTimestamp of the source cluster mean nothing here and are dropped.
//
// Export lists every kind in the same order and writes one YAML document per resource without
// the server-owned metadata, which `calicoctl apply -f` and `meshless datastore import` take.
// LearnedRoute is Meshless's own (the reflectors rewrite it) and is left out.
import type { Command } from 'commander';
import { KINDS, type Kind, type Resource } from '../../../shared/resources/index.js';
import type { CliContext } from '../context.js';
import { CliError, oneLine } from '../failure.js';
import { yamlPrinter } from '../output.js';
import { identifier } from '../failure.js';

/** The order resources are written in: what others refer to first. */
export const IMPORT_ORDER: readonly Kind[] = [
  'ClusterInformation',
  'FelixConfiguration',
  'KubeControllersConfiguration',
  'BGPConfiguration',
  'IPAMConfiguration',
  'Tier',
  'IPPool',
  'IPReservation',
  'Node',
  'BGPFilter',
  'BGPPeer',
  'Profile',
  'GlobalNetworkSet',
  'NetworkSet',
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'StagedGlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedKubernetesNetworkPolicy',
  'HostEndpoint',
  'IPAMBlock',
  'BlockAffinity',
  'WorkloadEndpoint',
  'CalicoNodeStatus',
  'LearnedRoute',
];

/** The kinds `export` writes (LearnedRoute is rewritten by the reflectors and Calico has no such kind). */
export const EXPORTED = IMPORT_ORDER.filter((k) => k !== 'LearnedRoute');

export function withoutServerFields(r: Resource): Resource {
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, ...metadata } = r.metadata;
  return { ...r, metadata } as Resource;
}

export function registerImportExport(datastore: Command, ctx: CliContext): void {
  const imp = datastore.command('import <FILE>');
  imp
    .summary('apply a Calico or Meshless export (a List or multi-document YAML) in dependency order')
    .description(
      'Apply every resource of FILE (or - for standard input): a `calicoctl get <kind> -o yaml` export, a `kind: List` ' +
        'or multi-document YAML. Every document is checked first; then resources are applied in dependency order ' +
        'and each is reported as created, updated, unchanged or failed.',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  meshless datastore export > cluster.yaml && meshless datastore import cluster.yaml\n  calicoctl get ippools,bgppeers -o yaml | meshless datastore import -\n',
    )
    .action(async (file: string) => {
      const [{ readSources }, { loadResources }] = await Promise.all([import('../files.js'), import('../load.js')]);
      const loaded = loadResources(await readSources([file], ctx.io.stdin));
      const rank = (k: Kind) => IMPORT_ORDER.indexOf(k);
      const ordered = loaded
        .map((l, i) => ({ ...l, i }))
        .sort((a, b) => rank(a.resource.kind) - rank(b.resource.kind) || a.i - b.i);
      for (const l of ordered)
        for (const w of l.warnings ?? [])
          ctx.io.stderr.write(`Warning: ${l.where} (${l.resource.kind} '${l.resource.metadata.name}'): ${w}\n`);
      const store = await ctx.datastore(imp);
      const counts = { created: 0, updated: 0, unchanged: 0, failed: 0 };
      for (const { resource, where } of ordered) {
        const id = identifier(resource.kind, resource.metadata.namespace ?? '', resource.metadata.name);
        try {
          const { created, unchanged } = await store.apply(withoutServerFields(resource));
          const outcome = unchanged ? 'unchanged' : created ? 'created' : 'updated';
          counts[outcome]++;
          ctx.print(`${id}: ${outcome}\n`);
        } catch (err) {
          counts.failed++;
          ctx.print(`${id}: failed: ${where}: ${oneLine(err)}\n`);
        }
      }
      ctx.print(
        `Imported ${ordered.length} resource(s): ${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.failed} failed\n`,
      );
      if (counts.failed > 0) throw new CliError(`${counts.failed} of ${ordered.length} resource(s) failed to import`);
    });

  const exp = datastore.command('export');
  exp
    .summary('write every resource as multi-document YAML that calicoctl apply and datastore import take')
    .description(
      'Write every resource of every Calico kind, without server-owned metadata, as multi-document YAML in dependency order.',
    )
    .option('-n, --namespace <namespace>', 'only this namespace for namespaced kinds (default: every namespace)')
    .action(async () => {
      const ns = exp.opts<{ namespace?: string }>().namespace ?? '';
      const store = await ctx.datastore(exp);
      const docs: string[] = [];
      const toYaml = await yamlPrinter();
      for (const kind of EXPORTED) {
        const namespaced = KINDS.find((k) => k.kind === kind)!.namespaced;
        const { items } = await store.list(kind, namespaced ? ns : '', '');
        for (const r of items) docs.push(toYaml(withoutServerFields(r)));
      }
      ctx.print(docs.map((d) => `---\n${d}`).join(''));
    });
}
