// The `meshless sync` command line of test and benchmark servers (a module of its own: a
// benchmark bundles it without the fixtures).

/**
 * `meshless sync` arguments for a plain-text test or benchmark server: one list for the fixtures
 * here, the trace test and bench:startup. No --metrics-port: the command's default.
 */
export function insecureSyncArgs(o: {
  listen: string;
  nats: string;
  stateDir: string;
  serverId: string;
  metricsPort?: number;
}): string[] {
  return [
    'sync',
    '--insecure',
    '--listen',
    o.listen,
    '--nats',
    o.nats,
    '--state-dir',
    o.stateDir,
    '--server-id',
    o.serverId,
    ...(o.metricsPort === undefined ? [] : ['--metrics-port', String(o.metricsPort)]),
  ];
}
