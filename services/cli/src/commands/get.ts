// `meshless get KIND [NAME...]`: calicoctl's `get`. Output `ps` (the default table), `wide`,
// `yaml` or `json`; the last two can be fed back into apply/replace (see ../output.ts).
// Namespaced kinds read namespace "default" unless -n NS or -A (every namespace) is given; with
// either, tables gain a NAMESPACE column, as in calicoctl.
import { Command, Option } from 'commander';
import { isNamespaced, type Kind, type Resource } from '../../../shared/resources/index.js';
import { needsClusterAsNumber, tableRows, type ColumnContext } from '../columns.js';
import type { CliContext } from '../context.js';
import { CliError } from '../failure.js';
import { listObject, OUTPUT_FORMATS, toJson, yamlPrinter, type OutputFormat } from '../output.js';
import type { Store } from '../store.js';
import { tabTable } from '../table.js';
import { compileTemplate, customColumnRows, parseCustomColumns } from '../templates.js';
import { kindArgument } from './kind-arg.js';

interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output: string;
  selector?: string;
  filename?: string[];
  recursive?: boolean;
  export?: boolean;
}

/** calicoctl get --export: without the fields the server owns, ready for another cluster. */
function exported(r: Resource): Resource {
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, ...metadata } = r.metadata;
  return { ...r, metadata } as Resource;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The -o value: a fixed format, or custom-columns=SPEC / go-template=TEMPLATE. */
function outputOf(text: string): OutputFormat | { columns: string } | { template: string } {
  if ((OUTPUT_FORMATS as readonly string[]).includes(text)) return text as OutputFormat;
  if (text.startsWith('custom-columns=')) return { columns: text.slice('custom-columns='.length) };
  if (text.startsWith('go-template=')) return { template: text.slice('go-template='.length) };
  throw new CliError(
    `option '-o, --output <format>' argument '${text}' is invalid. Allowed choices are ${OUTPUT_FORMATS.join(', ')}, custom-columns=..., go-template=...`,
  );
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
  meshless get -f pools.yaml                   # the resources a file names (by kind and name)
  meshless get ippools -o custom-columns=NAME:.metadata.name,CIDR:.spec.cidr
  meshless get nodes -o go-template='{{range .items}}{{.metadata.name}}{{"\\n"}}{{end}}'
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
  const cmd = program.command('get [KIND] [NAME...]');
  cmd
    .summary('show resources as a table, YAML or JSON')
    .description(
      `Show every resource of a kind, or the named ones.\n\n` +
        `KIND is case-insensitive and may be singular, plural or a short form (ippool, ippools, pool, ipp).`,
    )
    .option('-n, --namespace <namespace>', 'namespace of namespaced kinds (default "default")')
    .option('-A, --all-namespaces', 'list namespaced kinds across every namespace')
    .addOption(
      new Option(
        '-o, --output <format>',
        `output format: ${OUTPUT_FORMATS.join(', ')}, custom-columns=HEADING:.path,... or go-template=TEMPLATE`,
      ).default('ps'),
    )
    .option('-l, --selector <selector>', "only resources whose labels match, e.g. 'app=web,tier in (a,b),!legacy'")
    .option(
      '-f, --filename <path>',
      "show the resources a file, directory or '-' names (by kind, name and namespace); repeatable",
      collect,
    )
    .option('-R, --recursive', 'with -f DIR, also read the files of its subdirectories')
    .option('--export', 'leave out resourceVersion, uid and creationTimestamp (for applying to another cluster)')
    .addHelpText('after', EXAMPLES)
    .action(async (kindArg: string | undefined, names: string[]) => {
      const opts = cmd.opts<GetOptions>();
      const format = outputOf(opts.output);
      const custom =
        typeof format === 'object'
          ? 'columns' in format
            ? { columns: parseCustomColumns(format.columns) }
            : { template: compileTemplate(format.template) }
          : undefined;
      if (opts.filename?.length) {
        if (kindArg !== undefined) throw new CliError('give either -f FILE or KIND [NAME...], not both');
        await getFromFiles(ctx, cmd, opts, format, custom);
        return;
      }
      if (kindArg === undefined) throw new CliError('name a KIND (e.g. meshless get ippools) or give -f FILE');
      const kind: Kind = kindArgument(kindArg);
      const output = typeof format === 'object' ? 'custom' : format;
      if (opts.allNamespaces && opts.namespace !== undefined)
        throw new CliError('give either -n NAMESPACE or -A, not both');
      if (opts.allNamespaces && names.length > 0)
        throw new CliError('cannot use --all-namespaces flag for getting a single resource');
      if (opts.selector !== undefined && names.length > 0)
        throw new CliError('give either NAME or -l SELECTOR, not both');
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
      if (opts.export) items = items.map(exported);

      if (custom) {
        ctx.print(
          renderCustom(
            custom,
            names.length === 1 ? items[0]! : listObject(kind, items, revision || maxRevision(items)),
            items,
          ),
        );
        return;
      }
      if (output === 'yaml' || output === 'json') {
        const value = names.length === 1 ? items[0]! : listObject(kind, items, revision || maxRevision(items));
        ctx.print(output === 'yaml' ? (await yamlPrinter())(value) : toJson(value));
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

type Custom = { columns: ReturnType<typeof parseCustomColumns> } | { template: ReturnType<typeof compileTemplate> };

function renderCustom(custom: Custom, value: unknown, items: Resource[]): string {
  if ('columns' in custom) return tabTable(customColumnRows(custom.columns, items));
  return custom.template(value);
}

/** `get -f FILE`: each resource the documents name, fetched by kind, name and namespace. */
async function getFromFiles(
  ctx: CliContext,
  cmd: Command,
  opts: GetOptions,
  format: ReturnType<typeof outputOf>,
  custom: Custom | undefined,
): Promise<void> {
  // Reading files and the YAML parser behind loadIdentities: only `get -f` needs them.
  const [{ readSources }, { loadIdentities }] = await Promise.all([import('../files.js'), import('../load.js')]);
  const sources = await readSources(opts.filename!, ctx.io.stdin, { recursive: opts.recursive === true });
  const wanted = loadIdentities(sources, opts.namespace === undefined ? {} : { namespace: opts.namespace });
  const store = await ctx.datastore(cmd);
  const items: Resource[] = [];
  for (const { resource } of wanted)
    items.push(await store.get(resource.kind, resource.metadata.namespace ?? '', resource.metadata.name));
  const value = items.length === 1 ? items[0]! : { apiVersion: 'v1', kind: 'List', items };
  if (custom) {
    ctx.print(renderCustom(custom, value, items));
    return;
  }
  if (format === 'yaml' || format === 'json') {
    ctx.print(format === 'yaml' ? (await yamlPrinter())(value as Resource) : toJson(value as Resource));
    return;
  }
  // One table per kind, in the order the kinds first appear.
  const kinds = [...new Set(items.map((r) => r.kind))];
  for (const kind of kinds) {
    const ofKind = items.filter((r) => r.kind === kind);
    const context: ColumnContext = {};
    if (needsClusterAsNumber(kind, format === 'wide', ofKind)) context.clusterAsNumber = await clusterAsNumber(store);
    ctx.print(
      tabTable(tableRows(kind, ofKind, { wide: format === 'wide', printNamespace: isNamespaced(kind), context })) +
        '\n',
    );
  }
}

function maxRevision(items: Resource[]): number {
  return Math.max(0, ...items.map((r) => Number(r.metadata.resourceVersion ?? 0) || 0));
}
