// `meshless demo`: builds the end-to-end topology on this machine (network namespaces: a fabric
// bridge, a BIRD switch, a control namespace with every Meshless service, three nodes with pods;
// needs root, bird2, nats-server, ping), runs the tour with a live view and tears it all down on
// exit. The harness is the end-to-end lab (services/lab), loaded only by this command.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError, oneLine } from '../failure.js';

const EXAMPLES = `
Examples:
  sudo meshless demo              # the tour with a live view; Ctrl-C tears everything down
  sudo meshless demo --once       # tear down when the tour is done
  sudo meshless demo --no-live    # events as plain lines (logs, CI)
`;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('demo');
  cmd
    .summary('show Meshless routing a small data center built in network namespaces (root)')
    .description(
      'Build three nodes with two pods each, a BIRD top-of-rack switch and the Meshless services in network namespaces, ' +
        'apply the resources, start the agents and route reflectors, and show pods pinging each other through the switch; ' +
        'then a churn, a route deleted by hand and a reflector restart. Everything is deleted on exit.',
    )
    .option('--once', 'tear down when the tour is done instead of waiting for Ctrl-C')
    .option('--no-live', 'print events as lines instead of redrawing the view')
    .addHelpText('after', EXAMPLES)
    .action(async () => {
      const opts = cmd.opts<{ once?: boolean; live: boolean }>();
      const { runDemo } = await import('../../../lab/index.js');
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      ctx.onClose(() => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      });
      const live = opts.live && (ctx.io.stdout as { isTTY?: boolean }).isTTY === true;
      try {
        await runDemo({ out: ctx.io.stdout, live, once: opts.once === true, signal: abort.signal });
      } catch (err) {
        throw new CliError(`demo: ${oneLine(err)}`, { cause: err });
      }
    });
}
