// Running a Meshless service from the CLI (`meshless datastore`, later `meshless sync`, `agent`,
// `rr`): one helper so each service command is a few lines. The service's own config spec
// (services/shared/config) gives the flags' meaning and the environment names and defaults that
// --help lists; values come from flags > MESHLESS_* > --config FILE (or MESHLESS_CONFIG) > defaults.
// The command returns once the service serves; SIGTERM/SIGINT stop it through Shutdown.
//
// The service module is imported only when its command runs (or its --help is asked for): the
// resource commands stay quick to start instead of loading every service's dependencies.
import type { Command } from 'commander';
import {
  ConfigError,
  describeConfig,
  loadConfig,
  type ConfigOf,
  type ConfigSpec,
} from '../../../shared/config/index.js';
import type { Logger } from '../../../shared/log/index.js';
import type { CliContext } from '../context.js';
import { CliError, oneLine } from '../failure.js';
import { serviceRuntime } from '../runtime.js';

export interface ServiceDefinition<S extends ConfigSpec> {
  config: S;
  /** Flags mapped onto config parameters, e.g. ['--listen <host:port>', 'listen']. */
  flags: ReadonlyArray<readonly [flags: string, param: keyof S & string]>;
  examples: string;
  /** How long a SIGTERM may take before the process exits anyway (default Shutdown's 10 s). */
  shutdownDeadlineMs?(config: ConfigOf<S>): number;
  /** Starts the service; resolves once it serves, with what stops it. */
  start(config: ConfigOf<S>, log: Logger): Promise<{ close(): Promise<void> }>;
}

export interface ServiceCommand<S extends ConfigSpec> {
  /** Subcommand and logger name, e.g. "datastore". */
  name: string;
  summary: string;
  /** Imports the service (lazily) and describes how to run it. */
  load(): Promise<ServiceDefinition<S>>;
}

export function registerService<S extends ConfigSpec>(
  program: Command,
  ctx: CliContext,
  service: ServiceCommand<S>,
): Command {
  const cmd = program.command(service.name);
  cmd
    .summary(service.summary)
    .description(`${service.summary[0]!.toUpperCase()}${service.summary.slice(1)}. Runs until SIGTERM or Ctrl-C.`)
    .option(
      '--config <file>',
      'YAML or JSON file of parameters (env MESHLESS_CONFIG); flags and MESHLESS_* variables override it',
    );
  let definition: ServiceDefinition<S> | undefined;
  program.hook('preSubcommand', async (_parent, sub) => {
    if (sub !== cmd || definition) return;
    const def = await service.load();
    definition = def;
    for (const [flags, param] of def.flags) cmd.option(flags, def.config[param]!.description);
    cmd.addHelpText(
      'after',
      `\nEvery parameter (environment variable, meaning, default):\n${describeConfig(def.config)}\n\nExamples:\n${def.examples}\n`,
    );
  });
  cmd.action(async () => {
    const def = definition!;
    // With globals: a flag the program also declares (--datastore) is parsed by the program
    // wherever it appears, so a service parameter of that name reads it from there.
    const opts = cmd.optsWithGlobals<Record<string, string | undefined>>();
    const overrides: Record<string, unknown> = {};
    for (const [, param] of def.flags) if (opts[param] !== undefined) overrides[param] = opts[param];
    // --credentials is the program's global option (the CLI's own credentials); for a service it
    // names the service's credentials directory, taken only when the service has the parameter.
    const globalCredentials = cmd.optsWithGlobals<{ credentials?: string }>().credentials;
    if (globalCredentials !== undefined && 'credentials' in def.config) overrides.credentials = globalCredentials;
    let config: ConfigOf<S>;
    try {
      config = loadConfig(def.config, {
        env: ctx.io.env,
        overrides,
        ...(opts.config === undefined ? {} : { file: opts.config }),
      });
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(`${service.name}: ${err.message}`, { cause: err });
      throw err;
    }
    const { log, shutdown } = await serviceRuntime(service.name, undefined, def.shutdownDeadlineMs?.(config));
    try {
      const handle = await def.start(config, log);
      shutdown.add(service.name, () => handle.close());
    } catch (err) {
      throw new CliError(`${service.name} failed to start: ${oneLine(err)}`, { cause: err });
    }
  });
  return cmd;
}
