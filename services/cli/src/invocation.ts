// What an argument list asks for, before anything heavy is loaded: bin/meshless.mjs reads it to
// decide whether to turn on source maps (long-running services log stack traces), and the CLI to
// decide whether to open a trace span (services start tracing themselves). No imports: bin loads
// this module on every start.

/** Subcommands that run until stopped: the services, and the demo that runs them. */
const LONG_RUNNING = new Set(['datastore', 'sync', 'agent', 'rr', 'kube-controller', 'dashboard', 'demo']);

/** Global options that take a value (`--datastore X get` -> get). */
const GLOBAL_WITH_VALUE = new Set(['--datastore', '--timeout', '--credentials']);

/** The first argument that is not a global option or its value; '' when there is none. */
export function subcommand(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (GLOBAL_WITH_VALUE.has(args[i]!)) i++;
    else if (!args[i]!.startsWith('-')) return args[i]!;
  }
  return '';
}

/** Whether ARGS start a service (or the demo) that runs until stopped. */
export function runsService(args: readonly string[]): boolean {
  return LONG_RUNNING.has(subcommand(args));
}
