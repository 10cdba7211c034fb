// `meshless label KIND NAME key=value | --remove key`: calicoctl's label. Sets (with --overwrite,
// replaces) or removes one label, with compare-and-set on the revision read, retried when the
// resource changed meanwhile. Messages are calicoctl's.
import type { Command } from 'commander';
import { ConflictError } from '../../../shared/errors/index.js';
import { checkLabelKey, checkLabelValue, isNamespaced, KINDS } from '../../../shared/resources/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../failure.js';
import { kindArgument } from './kind-arg.js';

const CONFLICT_RETRIES = 5;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('label <KIND> <NAME> [LABEL]');
  cmd
    .summary('set or remove a label of one resource')
    .description('Set a label (key=value) on one resource, or remove one (--remove key).')
    .option('--overwrite', 'replace the value of a label that is already set')
    .option('--remove', 'remove the label named by LABEL (a key)')
    .option('-n, --namespace <namespace>', 'namespace of namespaced kinds (default "default")')
    .addHelpText(
      'after',
      '\nExamples:\n  meshless label nodes node-1 rack=r1\n  meshless label nodes node-1 rack=r2 --overwrite\n  meshless label nodes node-1 rack --remove\n',
    )
    .action(async (kindArg: string, name: string, label: string | undefined) => {
      const opts = cmd.opts<{ overwrite?: boolean; remove?: boolean; namespace?: string }>();
      const kind = kindArgument(kindArg);
      const plural = KINDS.find((k) => k.kind === kind)!.plural;
      if (label === undefined || label === '')
        throw new CliError(
          opts.remove
            ? 'name the label to remove: meshless label KIND NAME KEY --remove'
            : 'give the label as key=value',
        );
      let key = label;
      let value: string | undefined;
      if (!opts.remove) {
        const eq = label.indexOf('=');
        if (eq < 0) throw new CliError(`invalid label ${label}: give key=value (or --remove to delete a label)`);
        key = label.slice(0, eq);
        value = label.slice(eq + 1);
        const vp = checkLabelValue(value);
        if (vp) throw new CliError(`invalid label value ${JSON.stringify(value)}: ${vp}`);
      } else if (label.includes('=')) {
        throw new CliError('--remove takes a label key, not key=value');
      }
      const kp = checkLabelKey(key);
      if (kp) throw new CliError(`invalid label key ${JSON.stringify(key)}: ${kp}`);
      const namespace = isNamespaced(kind) ? (opts.namespace ?? 'default') : '';
      const store = await ctx.datastore(cmd);
      for (let attempt = 0; ; attempt++) {
        const current = await store.get(kind, namespace, name);
        const labels = { ...(current.metadata.labels ?? {}) };
        if (opts.remove) {
          if (!(key in labels))
            throw new CliError(`failed to remove label of resource: label ${key} is not present on ${plural} ${name}`);
          delete labels[key];
        } else {
          if (key in labels && labels[key] !== value && !opts.overwrite) {
            throw new CliError(
              `failed to update label of resource: key ${key} is already present, use --overwrite to replace its value`,
            );
          }
          labels[key] = value!;
        }
        try {
          await store.replace({ ...current, metadata: { ...current.metadata, labels } } as typeof current);
          break;
        } catch (err) {
          if (!(err instanceof ConflictError) || attempt >= CONFLICT_RETRIES) throw err;
        }
      }
      ctx.print(
        opts.remove
          ? `Successfully removed label ${key} from ${plural} ${name}\n`
          : `Successfully set label ${key} on ${plural} ${name}\n`,
      );
    });
}
