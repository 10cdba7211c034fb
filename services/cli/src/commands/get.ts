// `meshless get KIND [NAME...]`: calicoctl's `get`. Output `ps` (the default table), `wide`,
// `yaml` or `json`; the last two can be fed back into apply/replace (see ../output.ts).
// Namespaced kinds read namespace "default" unless -n NS or -A (every namespace) is given; with
// either, tables gain a NAMESPACE column, as in calicoctl.
import { Command, Option } from 'commander';
import { isNamespaced, type Kind, type Resource } from '../../../shared/resources/index.js';
import { needsClusterAsNumber, tableRows, type ColumnContext } from '../columns.js';
import type { CliContext } from '../context.js';
import { CliError } from '../failure.js';
import { listObject, OUTPUT_FORMATS, toJson, toYaml, type OutputFormat } from '../output.js';
import type { Store } from '../store.js';
import { tabTable } from '../table.js';
import { kindArgument } from './kind-arg.js';

interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output: string;
  selector?: string;
}

const EXAMPLES = `
Examples:
  meshless get ippools                         # NAME CIDR SELECTOR
  meshless get nodes -o wide                   # NAME ASN IPV4 IPV6
  meshless get ippool my-pool -o yaml          # one resource, ready for apply/replace
  meshless get ippools -o yaml > pools.yaml    # an IPPoolList; apply accepts it as it is
  meshless get wep -A                          # workload endpoints in every namespace
  meshless get networkpolicies -n prod -o json
  meshless get nodes -l 'rack=r1,role!=rr'     # label selector (Kubernetes syntax)
`;

/** The cluster AS number a Node without its own shows in brackets (calicoctl's `config "asnumber"`). */
async function clusterAsNumber(store: Store): Promise<string> {
  try {
    const cfg = await store.find('BGPConfiguration', '', 'default');
    const asn = cfg?.kind === 'BGPConfiguration' ? cfg.spec.asNumber : undefined;
    return asn === undefined ? '64512' : String(asn);
  } catch {
    return 'unknown';
  }
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('get <KIND> [NAME...]');
  cmd
    .summary('show resources as a table, YAML or JSON')
    .description(
      `Show every resource of a kind, or the named ones.\n\n` +
        `KIND is case-insensitive and may be singular, plural or a short form (ippool, ippools, pool, ipp).`,
    )
    .option('-n, --namespace <namespace>', 'namespace of namespaced kinds (default "default")')
    .option('-A, --all-namespaces', 'list namespaced kinds across every namespace')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('ps'))
    .option('-l, --selector <selector>', "only resources whose labels match, e.g. 'app=web,tier in (a,b),!legacy'")
    .addHelpText('after', EXAMPLES)
    .action(async (kindArg: string, names: string[]) => {
      const opts = cmd.opts<GetOptions>();
      const kind: Kind = kindArgument(kindArg);
      const output = opts.output as OutputFormat;
      if (opts.allNamespaces && opts.namespace !== undefined) throw new CliError('give either -n NAMESPACE or -A, not both');
      if (opts.allNamespaces && names.length > 0) throw new CliError('cannot use --all-namespaces flag for getting a single resource');
      if (opts.selector !== undefined && names.length > 0) throw new CliError('give either NAME or -l SELECTOR, not both');
      if (names.some((n) => n === '')) throw new CliError('resource name may not be empty');
      const namespaced = isNamespaced(kind);
      const namespace = namespaced ? (opts.allNamespaces ? '' : (opts.namespace ?? 'default')) : '';
      const store = await ctx.datastore(cmd);

      let items: Resource[];
      let revision = 0;
      if (names.length > 0) {
        items = [];
        for (const name of names) items.push(await store.get(kind, namespace, name));
      } else {
        ({ items, revision } = await store.list(kind, namespace, opts.selector ?? ''));
      }

      if (output === 'yaml' || output === 'json') {
        const value = names.length === 1 ? items[0]! : listObject(kind, items, revision || maxRevision(items));
        ctx.print(output === 'yaml' ? toYaml(value) : toJson(value));
        return;
      }
      const wide = output === 'wide';
      const context: ColumnContext = {};
      if (needsClusterAsNumber(kind, wide, items)) context.clusterAsNumber = await clusterAsNumber(store);
      const printNamespace = namespaced && (opts.allNamespaces === true || opts.namespace !== undefined);
      // calicoctl leaves an empty line after each table.
      ctx.print(tabTable(tableRows(kind, items, { wide, printNamespace, context })) + '\n');
    });
}

function maxRevision(items: Resource[]): number {
  return Math.max(0, ...items.map((r) => Number(r.metadata.resourceVersion ?? 0) || 0));
}
