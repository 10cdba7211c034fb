// The `meshless` command. bin/meshless.mjs calls `main(process.argv)`; tests call `run(args, io)`
// with their own streams. Every subcommand lives in src/commands/ and registers itself through the
// COMMANDS list there (one line to add a command). A service (`meshless agent`, ...) registers only
// its own command (commands/services.ts): the other commands' code, the YAML printer and the
// resource schemas are not loaded by a process that runs for days on a node.
//
// Failure contract: exit status 1 and exactly one line on stderr, `meshless: <message>`; no stack
// trace (MESHLESS_DEBUG=1 adds one for unexpected errors). Success: exit status 0. Nothing calls
// process.exit: main sets process.exitCode and every handle is closed before it returns.
import { Command, CommanderError, type HelpContext } from 'commander';
import type { CommandModule } from './commands/index.js';
import { serviceCommands } from './commands/services.js';
import { CliContext, DEFAULT_DATASTORE, DEFAULT_TIMEOUT, type CliIo } from './context.js';
import { CliError, oneLine } from './failure.js';
import { runsService, subcommand } from './invocation.js';
import { tracingEndpoint } from '../../shared/tracing/index.js';

/**
 * A command whose bare invocation (`meshless`, `meshless ipam`) prints its help on stdout and
 * succeeds, as kubectl does, instead of commander's help-on-stderr with status 1.
 */
class MeshlessCommand extends Command {
  override createCommand(name?: string): Command {
    return new MeshlessCommand(name);
  }

  override help(context?: HelpContext): never;
  override help(cb: (str: string) => string): never;
  override help(context?: HelpContext | ((str: string) => string)): never {
    if (typeof context === 'function') return super.help(context);
    return super.help({ ...context, error: false });
  }
}

const OVERVIEW = `
Meshless keeps Calico v3 resources (IP pools, nodes, BGP peers, policies...) in its datastore
and spreads them to sync servers, node agents and route reflectors. This command talks to the
datastore API, by default at ${DEFAULT_DATASTORE} (what \`npm start\` brings up).

Getting started:
  npm start                                   # in another terminal: the local cluster
  meshless apply -f examples/                 # load every example resource
  meshless get ippools                        # list them as a table
  meshless get ippool my-pool -o yaml         # one resource, ready to edit and re-apply
  meshless delete ippool my-pool              # remove it
  meshless ipam show --show-blocks            # address usage per pool and block

Kinds (case-insensitive; singular, plural or short form):
  node (no), ippool (pool, ipp), ipamblock (block), blockaffinity (affinity), ipamhandle (handle),
  workloadendpoint (wep), hostendpoint (hep), profile (pro), networkpolicy (policy, np),
  globalnetworkpolicy (gnp), bgppeer (bgpp, bp), bgpconfiguration (bgpconfig),
  bgpfilter (bgpf), felixconfiguration (felixconfig), kubecontrollersconfiguration,
  clusterinformation (clusterinfo), ipamconfiguration (ipamconfig), ipreservation,
  globalnetworkset, networkset (netsets), tier, stagednetworkpolicy (snp),
  stagedglobalnetworkpolicy (sgnp), stagedkubernetesnetworkpolicy (sknp),
  caliconodestatus (nodestatus), learnedroute (route)

Environment:
  MESHLESS_DATASTORE   same as --datastore
  MESHLESS_TIMEOUT     same as --timeout
  MESHLESS_CREDENTIALS same as --credentials (npm start writes the admin's to
                       ~/.config/meshless/credentials, found without configuration)

Run \`meshless <command> --help\` for the flags and examples of each command.`;

/** Builds the program for one invocation with `commands`, writing to `ctx.io`. */
export function buildProgram(ctx: CliContext, commands: readonly CommandModule[]): Command {
  const program = new MeshlessCommand('meshless');
  program
    .description('Manage a Meshless cluster: resources, IPAM and the services themselves.')
    .option('--datastore <host:port>', `datastore API address (env MESHLESS_DATASTORE, default ${DEFAULT_DATASTORE})`)
    .option(
      '--credentials <dir>',
      'mutual TLS: directory with ca.crt, tls.crt, tls.key, or "none" for plain text (env MESHLESS_CREDENTIALS, default ~/.config/meshless/credentials when present)',
    )
    .option(
      '--timeout <duration>',
      `time allowed to reach the datastore and for each request, e.g. 500ms, 30s (env MESHLESS_TIMEOUT, default ${DEFAULT_TIMEOUT})`,
    )
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.io.stdout.write(s),
      writeErr: (s) => void ctx.io.stderr.write(s),
      outputError: (s, write) => write(`meshless: ${oneLine(s.replace(/^error: /, ''))}\n`),
    })
    .addHelpText('after', OVERVIEW);
  for (const command of commands) command.register(program, ctx);
  return program;
}

/** Runs one invocation with the given user arguments (no `node script` prefix); resolves to the exit status. */
export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const ctx = new CliContext(io);
  try {
    const commands = runsService(args)
      ? await serviceCommands(subcommand(args))
      : (await import('./commands/index.js')).COMMANDS;
    const parse = async () => void (await buildProgram(ctx, commands).parseAsync([...args], { from: 'user' }));
    // Services start tracing themselves (commands/service.ts).
    if (tracingEndpoint(io.env) && !runsService(args)) await traced(subcommand(args), args, io, parse);
    else await parse();
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help was printed (commander derives its status from process.exitCode: ignore that), or
      // commander already printed its one-line error.
      return err.code === 'commander.help' || err.code === 'commander.helpDisplayed' ? 0 : err.exitCode;
    }
    io.stderr.write(`meshless: ${oneLine(err)}\n`);
    if (!(err instanceof CliError) && io.env.MESHLESS_DEBUG === '1' && err instanceof Error && err.stack)
      io.stderr.write(err.stack + '\n');
    return 1;
  } finally {
    await ctx.close().catch(() => undefined);
  }
}

/**
 * Runs the command inside a root span `meshless <command>` (OTEL_EXPORTER_OTLP_* set): every
 * datastore call it makes carries the trace context, and the datastore writes it with the change.
 */
async function traced(command: string, args: readonly string[], io: CliIo, parse: () => Promise<void>): Promise<void> {
  const { startTracing, inSpan } = await import('../../shared/tracing/index.js');
  const tracing = await startTracing('cli', {}, io.env);
  try {
    await inSpan(
      `meshless ${command}`,
      { attributes: { 'meshless.command': command, 'process.command_args': args.join(' ') } },
      parse,
    );
  } finally {
    await tracing.shutdown();
  }
}

/** The process entry point used by bin/meshless.mjs. */
export async function main(argv: readonly string[]): Promise<void> {
  // A reader that went away (`meshless get nodes | head -1`) is not an error of ours: stop
  // writing quietly, as kubectl and calicoctl do, instead of dying with an EPIPE stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') process.exitCode = 1;
    });
  }
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
  process.exitCode = await run(argv.slice(2), io);
}
