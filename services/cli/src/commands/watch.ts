// `meshless watch [KIND...]`: follow the datastore's change stream, one line per change, the way
// `kubectl get -w` does. It prints the current state first (or only the changes after
// --revision R), a line when the stream is in sync, then every change as it is committed.
import { Command } from 'commander';
import type { Kind } from '../../../shared/resources/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../failure.js';
import { kindArgument } from './kind-arg.js';

const EXAMPLES = `
Examples:
  meshless watch                        # everything: current state, then every change
  meshless watch ippools nodes          # only these kinds
  meshless watch --revision 42          # only what changed after revision 42 (deletions included)

In another terminal, \`meshless apply -f examples/ippools.yaml\` shows up here at once.
`;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('watch [KIND...]');
  cmd
    .summary('follow changes as the datastore commits them')
    .description('Print one line per change: REVISION, EVENT (PUT or DELETE), KIND and NAME. Ctrl-C stops.')
    .option('--revision <R>', 'start after this revision instead of with the current state', '0')
    .addHelpText('after', EXAMPLES)
    .action(async (kindArgs: string[]) => {
      const { revision: revisionText } = cmd.opts<{ revision: string }>();
      if (!/^\d+$/.test(revisionText))
        throw new CliError(`--revision must be a non-negative integer, got '${revisionText}'`);
      const kinds: Kind[] = kindArgs.map(kindArgument);
      const store = await ctx.datastore(cmd);
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      ctx.onClose(() => void process.off('SIGINT', stop));
      let inSync = Number(revisionText) > 0;
      ctx.print(`${'REVISION'.padEnd(10)} ${'EVENT'.padEnd(7)} KIND NAME\n`);
      for await (const e of store.watch(kinds, Number(revisionText), abort.signal)) {
        if (e.type === 'snapshot-begin') continue;
        if (e.type === 'in-sync') {
          if (!inSync) ctx.print(`-- in sync at revision ${e.revision}; waiting for changes (Ctrl-C stops) --\n`);
          inSync = true;
          continue;
        }
        const name = e.namespace ? `${e.namespace}/${e.name}` : e.name;
        ctx.print(
          `${String(e.revision).padEnd(10)} ${(e.type === 'put' ? 'PUT' : 'DELETE').padEnd(7)} ${e.kind} ${name}\n`,
        );
      }
    });
}
