// `meshless kube-controller`: keeps the datastore in step with the Kubernetes API (nodes,
// namespaces, service accounts, pods, network policies), as calico-kube-controllers does. Two or
// more replicas are safe: only the holder of a coordination.k8s.io Lease works. The service is
// imported only when the command runs. See services/kube-controller/README.md.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError, oneLine } from '../failure.js';
import { serviceRuntime } from '../runtime.js';
import { isHostPort } from '../../../shared/config/index.js';

const EXAMPLES = `
Examples:
  meshless kube-controller --datastore meshless-datastore:5470          # in a pod: the service account
  meshless kube-controller --kubeconfig ~/.kube/config --datastore 127.0.0.1:5470
`;

interface Opts {
  kubeconfig?: string;
  context?: string;
  leaseName: string;
  leaseNamespace?: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  cniNetwork: string;
  resyncPeriod: string;
  metrics: string;
}

function seconds(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError(`kube-controller: ${flag} must be a positive number of seconds, got '${v}'`);
  return n * 1000;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('kube-controller')
    .summary('keep the datastore in step with Kubernetes (nodes, namespaces, service accounts, pods, network policies)')
    .description(
      'Follow the Kubernetes API (list + watch) and keep the datastore in step as calico-kube-controllers does: Nodes, ' +
        'Profiles kns.<namespace> and ksa.<namespace>.<serviceaccount>, WorkloadEndpoint labels, NetworkPolicies ' +
        'knp.default.<name>; garbage-collect endpoints and addresses of pods that no longer exist. Leader election on a ' +
        'Lease makes several replicas safe. Runs until SIGTERM.',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (env KUBECONFIG; default: in-cluster service account)')
    .option('--context <name>', 'kubeconfig context (default: current-context)')
    .option('--lease-name <name>', 'Lease used for leader election', 'meshless-kube-controller')
    .option('--lease-namespace <ns>', "Lease namespace (default: the pod's namespace, env POD_NAMESPACE)")
    .option('--lease-duration <s>', 'how long a lease is valid without renewal', '15')
    .option('--renew-deadline <s>', 'a leader that has not renewed for this long stops', '10')
    .option('--retry-period <s>', 'how often to try to acquire or renew', '2')
    .option('--cni-network <name>', 'CNI network name: IPAM handles are <name>.<containerID>', 'k8s-pod-network')
    .option('--resync-period <s>', 'full pass over every object (also after each re-list)', '300')
    .option('--metrics <host:port>', '/metrics, /livez and /readyz address ("none": off)', '127.0.0.1:9097')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: Opts, cmd: Command) => {
      const env = ctx.io.env;
      const { resolveClientCredentials } = await import('../../../shared/tls/index.js');
      // --datastore and --credentials are the global options (meshless --help).
      const globals = cmd.optsWithGlobals<{ datastore?: string; credentials?: string }>();
      const datastore = globals.datastore ?? env.MESHLESS_DATASTORE ?? '127.0.0.1:5470';
      const credentials = resolveClientCredentials(globals.credentials, env).dir;
      if (!isHostPort(datastore))
        throw new CliError(`kube-controller: --datastore must be HOST:PORT, got '${datastore}'`);
      const timing = {
        leaseDurationMs: seconds('--lease-duration', opts.leaseDuration),
        renewDeadlineMs: seconds('--renew-deadline', opts.renewDeadline),
        retryPeriodMs: seconds('--retry-period', opts.retryPeriod),
        resyncPeriodMs: seconds('--resync-period', opts.resyncPeriod),
      };
      if (!(timing.leaseDurationMs > timing.renewDeadlineMs && timing.renewDeadlineMs > timing.retryPeriodMs)) {
        throw new CliError('kube-controller: need --lease-duration > --renew-deadline > --retry-period');
      }
      let metrics: { host: string; port: number } | undefined;
      if (opts.metrics !== 'none') {
        const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(opts.metrics);
        if (!m || Number(m[2]) > 65535)
          throw new CliError(`kube-controller: --metrics must be HOST:PORT or none, got '${opts.metrics}'`);
        metrics = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
      }
      const kc = await import('../../../kube-controller/index.js');
      let kube;
      try {
        const file = opts.kubeconfig ?? env.KUBECONFIG;
        kube = file ? kc.kubeconfigFile(file, opts.context) : kc.inClusterConfig(env);
      } catch (err) {
        throw new CliError(`kube-controller: ${oneLine(err)}`, { cause: err });
      }
      const { log, shutdown } = await serviceRuntime('kube-controller');
      const handle = await kc.runKubeController({
        kube,
        datastore,
        ...(credentials ? { credentials } : {}),
        log,
        leaseName: opts.leaseName,
        ...((opts.leaseNamespace ?? env.POD_NAMESPACE)
          ? { leaseNamespace: opts.leaseNamespace ?? env.POD_NAMESPACE }
          : {}),
        cniNetwork: opts.cniNetwork,
        ...(metrics ? { metrics } : {}),
        ...timing,
      });
      shutdown.add('kube-controller', () => handle.close());
      log.info(
        { server: kube.server, datastore, identity: handle.identity },
        'kube-controller started; waiting for the lease',
      );
      try {
        await handle.lost;
      } catch (err) {
        throw new CliError(`kube-controller: ${oneLine(err)}`, { cause: err });
      }
    });
}
