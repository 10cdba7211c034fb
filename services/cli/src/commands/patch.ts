// `meshless patch KIND NAME -p PATCH`: calicoctl's patch. The patch is a JSON merge patch (RFC
// 7386: objects merge, `null` removes a field, anything else replaces), given as JSON or YAML.
// The patched document is validated like apply does, then written with compare-and-set on the
// revision it was read at; a concurrent change makes it read, patch and try again.
import type { Command } from 'commander';
import { ConflictError } from '../../../shared/errors/index.js';
import { isNamespaced, type Resource } from '../../../shared/resources/index.js';
import type { CliContext } from '../context.js';
import { CliError, oneLine } from '../failure.js';
import { loadYaml } from '../yaml.js';
import { kindArgument } from './kind-arg.js';

/** How often a patch re-reads and retries when the resource changed under it. */
const CONFLICT_RETRIES = 5;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386 §2: applies a JSON merge patch to `target`, returning the result (inputs untouched). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('patch <KIND> <NAME>');
  cmd
    .summary('change fields of one resource with a merge patch')
    .description(
      'Change fields of one resource. PATCH is a JSON merge patch (RFC 7386), in JSON or YAML: mappings merge, ' +
        'null removes a field, any other value replaces it. The result is validated like apply does.',
    )
    .requiredOption('-p, --patch <patch>', 'the merge patch, e.g. \'{"spec":{"natOutgoing":true}}\'')
    .option('-n, --namespace <namespace>', 'namespace of namespaced kinds (default "default")')
    .option('--type <type>', 'patch type (only "merge": strategic and JSON patches are not supported)', 'merge')
    .addHelpText(
      'after',
      `\nExamples:\n  meshless patch ippool pool-a -p '{"spec":{"natOutgoing":true}}'\n  meshless patch node node-1 -p '{"spec":{"bgp":{"routeReflectorClusterID":"224.0.0.1"}}}'\n  meshless patch bgpconfig default -p 'spec: {asNumber: 65010}'\n`,
    )
    .action(async (kindArg: string, name: string) => {
      const opts = cmd.opts<{ patch: string; namespace?: string; type: string }>();
      if (opts.type !== 'merge')
        throw new CliError(`--type ${opts.type} is not supported: use merge (a JSON merge patch)`);
      const kind = kindArgument(kindArg);
      let patch: unknown;
      const { parse } = await loadYaml();
      try {
        patch = parse(opts.patch);
      } catch (err) {
        throw new CliError(`-p: not JSON or YAML: ${oneLine(err)}`, { cause: err });
      }
      if (!isObject(patch))
        throw new CliError('-p: the patch must be a mapping, e.g. \'{"spec":{"natOutgoing":true}}\'');
      for (const f of ['apiVersion', 'kind'] as const)
        if (f in patch) throw new CliError(`-p: a patch cannot change ${f}`);
      if (isObject(patch.metadata) && ('name' in patch.metadata || 'namespace' in patch.metadata)) {
        throw new CliError('-p: a patch cannot change metadata.name or metadata.namespace');
      }
      const namespace = isNamespaced(kind) ? (opts.namespace ?? 'default') : '';
      // Every kind's schema (~100 KB compiled, built when loaded) comes with the command that
      // validates: imported statically, it was loaded by `--help` and every other command.
      const { validateResource } = await import('../../../shared/resources/index.js');
      const store = await ctx.datastore(cmd);
      for (let attempt = 0; ; attempt++) {
        const current = await store.get(kind, namespace, name);
        let patched: Resource;
        try {
          patched = validateResource(mergePatch(current, patch), { source: '-p' });
        } catch (err) {
          throw new CliError(`failed to patch '${kind}' resource: ${oneLine(err)}`, { cause: err });
        }
        try {
          await store.replace(patched);
          break;
        } catch (err) {
          if (!(err instanceof ConflictError) || attempt >= CONFLICT_RETRIES) throw err;
        }
      }
      ctx.print(`Successfully patched 1 '${kind}' resource\n`);
    });
}
