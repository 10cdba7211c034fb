// `meshless apply|create|replace|delete`: resources from files, directories or stdin (and, for
// delete, KIND NAME...). Every document is parsed and validated before the first request; then
// the resources are sent in order and the command stops at the first failure, with calicoctl's
// messages:
//   Successfully applied 3 'IPPool' resource(s)          (one kind)
//   Successfully applied 5 resource(s)                   (mixed kinds)
//   Partial success: applied the first 2 out of 5 resources:   (stdout; then the error on stderr)
import { Command } from 'commander';
import { isNamespaced, type Kind, type Resource } from '../../../shared/resources/index.js';
import type { CliContext } from '../context.js';
import { AlreadyExistsError } from '../../../shared/errors/index.js';
import { CliError, oneLine } from '../failure.js';
import type { LoadedResource } from '../load.js';
import type { Store } from '../store.js';
import { kindArgument } from './kind-arg.js';

type Action = 'apply' | 'create' | 'replace' | 'delete';

const PAST: Record<Action, string> = { apply: 'applied', create: 'created', replace: 'replaced', delete: 'deleted' };

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface WriteOptions {
  filename?: string[];
  namespace?: string;
  recursive?: boolean;
  skipExists?: boolean;
}

const ABOUT: Record<Action, { summary: string; details: string; examples: string }> = {
  apply: {
    summary: 'create or update resources from files, directories or stdin',
    details:
      'Creates each resource that does not exist yet and updates each one that does. Every document is checked ' +
      'before anything is sent, so a mistake anywhere changes nothing. A document carrying ' +
      'metadata.resourceVersion (as `get -o yaml` prints) is only written if the stored resource has not changed since.',
    examples: `  meshless apply -f examples/                  # every .yaml/.yml/.json file in the directory
  meshless apply -f pools.yaml -f peers.yaml   # several files, in order
  cat pool.json | meshless apply -f -          # from standard input
  meshless get ippools -o yaml > pools.yaml && meshless apply -f pools.yaml`,
  },
  create: {
    summary: 'create new resources from files, directories or stdin (fails if one exists)',
    details: `Like apply, but a resource that already exists is an error ("resource already exists").`,
    examples: `  meshless create -f pool.yaml
  meshless create -f examples/`,
  },
  replace: {
    summary: 'replace existing resources from files, directories or stdin (fails if one is missing)',
    details:
      'Like apply, but a resource that does not exist is an error. With metadata.resourceVersion in the document, ' +
      'the replace fails if someone changed the resource in the meantime.',
    examples: `  meshless get ippool my-pool -o yaml > pool.yaml   # edit pool.yaml, then:
  meshless replace -f pool.yaml`,
  },
  delete: {
    summary: 'delete resources named in files, or by KIND and NAME',
    details:
      'Deletes the resources the files describe, by kind, metadata.name and, for namespaced kinds, ' +
      'metadata.namespace only (as calicoctl: the rest of each document is not checked), or the named resources of one kind.',
    examples: `  meshless delete ippool my-pool
  meshless delete networkpolicy allow-web -n prod
  meshless delete -f examples/bgppeers.yaml`,
  },
};

/** Sends one resource; true when the datastore already held it unchanged (apply only). */
async function send(store: Store, action: Action, r: Resource): Promise<boolean> {
  switch (action) {
    case 'apply':
      return (await store.apply(r)).unchanged;
    case 'create':
      await store.create(r);
      return false;
    case 'replace':
      await store.replace(r);
      return false;
    case 'delete':
      await store.delete(r.kind, r.metadata.namespace ?? '', r.metadata.name);
      return false;
  }
}

/** The resources `delete KIND NAME...` names, as identity-only documents. */
function namedResources(kindArg: string, names: string[], namespace: string | undefined): LoadedResource[] {
  const kind: Kind = kindArgument(kindArg);
  if (names.length === 0)
    throw new CliError(`name the ${kind} resource(s) to delete: meshless delete ${kindArg} NAME...`);
  return names.map((name) => {
    if (name === '') throw new CliError('resource name may not be empty');
    const metadata = isNamespaced(kind) ? { name, namespace: namespace ?? 'default' } : { name };
    return { resource: { kind, metadata } as Resource, where: '' };
  });
}

async function execute(
  ctx: CliContext,
  cmd: Command,
  action: Action,
  resources: LoadedResource[],
  skipExists = false,
): Promise<void> {
  const kinds = new Set(resources.map((r) => r.resource.kind));
  const singleKind = kinds.size === 1 ? [...kinds][0]! : undefined;
  const total = resources.length;
  for (const { resource, where, warnings } of resources) {
    for (const w of warnings ?? [])
      ctx.io.stderr.write(`Warning: ${where} (${resource.kind} '${resource.metadata.name}'): ${w}\n`);
  }
  const store = await ctx.datastore(cmd);
  let handled = 0;
  let unchanged = 0;
  let skipped = 0;
  for (const { resource, where } of resources) {
    try {
      if (await send(store, action, resource)) unchanged++;
    } catch (err) {
      // create --skip-exists: an existing resource counts as done, as in calicoctl.
      if (skipExists && err instanceof AlreadyExistsError) {
        skipped++;
        handled++;
        continue;
      }
      const detail = (where ? `${where}: ` : '') + oneLine(err);
      if (handled > 0) {
        ctx.print(
          `Partial success: ${PAST[action]} the first ${handled} out of ${total} ${singleKind ? `'${singleKind}' ` : ''}resources:\n`,
        );
        throw new CliError(`hit error: ${detail}`, { cause: err });
      }
      if (total === 1) throw new CliError(`failed to ${action} '${resource.kind}' resource: ${detail}`, { cause: err });
      throw new CliError(`failed to ${action} any ${singleKind ? `'${singleKind}' ` : ''}resources: ${detail}`, {
        cause: err,
      });
    }
    handled++;
  }
  // calicoctl's line; like kubectl, say which documents changed nothing.
  ctx.print(
    `Successfully ${PAST[action]} ${handled} ${singleKind ? `'${singleKind}' ` : ''}resource(s)${unchanged ? ` (${unchanged} unchanged)` : ''}${skipped ? ` (${skipped} skipped: already exist)` : ''}\n`,
  );
}

function registerAction(program: Command, ctx: CliContext, action: Action): void {
  const about = ABOUT[action];
  const cmd = program.command(action === 'delete' ? 'delete [KIND] [NAME...]' : action);
  cmd
    .summary(about.summary)
    .description(`${about.summary[0]!.toUpperCase()}${about.summary.slice(1)}.\n\n${about.details}`)
    .option(
      '-f, --filename <path>',
      "file, directory (its .yaml, .yml and .json files, sorted) or '-' for stdin; repeatable",
      collect,
    )
    .option(
      '-n, --namespace <namespace>',
      'namespace for namespaced kinds (WorkloadEndpoint, NetworkPolicy) that name none (default "default")',
    )
    .option('-R, --recursive', 'with -f DIR, also read the files of its subdirectories');
  if (action === 'create') cmd.option('--skip-exists', 'skip resources that already exist instead of failing');
  cmd.addHelpText('after', `\nExamples:\n${about.examples}\n`).action(async (...args: unknown[]) => {
    const opts = cmd.opts<WriteOptions>();
    const files = opts.filename ?? [];
    let resources: LoadedResource[];
    if (action === 'delete' && files.length === 0 && typeof args[0] === 'string') {
      resources = namedResources(args[0], (args[1] as string[] | undefined) ?? [], opts.namespace);
    } else {
      if (action === 'delete' && typeof args[0] === 'string')
        throw new CliError('give either -f FILE or KIND NAME..., not both');
      if (files.length === 0) {
        throw new CliError(`nothing to ${action}: give -f FILE, -f DIR or -f - (see meshless ${action} --help)`);
      }
      // The YAML parser behind load.ts is imported by the commands that read files, not by every start.
      const [{ readSources }, { loadIdentities, loadResources }] = await Promise.all([
        import('../files.js'),
        import('../load.js'),
      ]);
      const sources = await readSources(files, ctx.io.stdin, { recursive: opts.recursive === true });
      const options = opts.namespace === undefined ? {} : { namespace: opts.namespace };
      resources = action === 'delete' ? loadIdentities(sources, options) : loadResources(sources, options);
    }
    await execute(ctx, cmd, action, resources, opts.skipExists === true);
  });
}

export function register(program: Command, ctx: CliContext): void {
  for (const action of ['apply', 'create', 'replace', 'delete'] as const) registerAction(program, ctx, action);
}
