// `meshless cni`: the CNI plugin as a subcommand. `meshless cni plugin` (the default) and
// `meshless cni ipam` speak the CNI protocol exactly as the meshless-cni and meshless-ipam
// executables do (CNI_COMMAND, config on stdin, JSON on stdout); `meshless cni install` is what
// the agent DaemonSet's init container runs (Calico's install-cni).
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError } from '../failure.js';

export function register(program: Command, ctx: CliContext): void {
  const cni = program
    .command('cni')
    .summary('the CNI plugin (meshless-cni / meshless-ipam) and its installer')
    .description(
      'The CNI plugin. Container runtimes run the meshless-cni and meshless-ipam executables; these subcommands do the same.',
    );

  const protocol = (name: string, kind: 'cni' | 'ipam', summary: string, isDefault: boolean) => {
    const cmd = cni.command(name, { isDefault });
    cmd
      .summary(summary)
      .description(
        `${summary}. Reads CNI_COMMAND and the other CNI_* variables, the network configuration on stdin; prints the result or a CNI error on stdout.`,
      )
      .action(async () => {
        const { main } = await import('../../../cni/index.js');
        const code = await main(kind, {
          stdin: ctx.io.stdin,
          stdout: ctx.io.stdout,
          stderr: ctx.io.stderr,
          env: ctx.io.env,
        });
        if (code !== 0) process.exitCode = code;
      });
  };
  protocol('plugin', 'cni', 'run the main plugin (meshless-cni)', true);
  protocol('ipam', 'ipam', 'run the IPAM plugin (meshless-ipam)', false);

  const install = cni.command('install');
  install
    .summary('install the CNI executables and write the network configuration list')
    .description(
      "Copy meshless-cni and meshless-ipam into the runtime's CNI bin directory and write the conflist " +
        "(default 10-meshless.conflist) into its conf directory, as Calico's install-cni does.",
    )
    .requiredOption('--bin-dir <dir>', 'CNI executables directory (e.g. /opt/cni/bin)')
    .requiredOption('--conf-dir <dir>', 'CNI configuration directory (e.g. /etc/cni/net.d)')
    .option('--cni-datastore <host:port,...>', 'datastore address(es) written into the conflist (default: --datastore)')
    .option('--network-name <name>', 'network name', 'k8s-pod-network')
    .option(
      '--nodename <name>',
      'node name written into the conflist (default: the plugin reads the nodename file, else the host name)',
    )
    .option('--mtu <bytes>', 'MTU of the veth pairs', '1500')
    .option('--chain <plugins>', 'plugins chained after meshless-cni, comma-separated: portmap, tuning, bandwidth', '')
    .option('--ipv6', 'also assign an IPv6 address to each workload')
    .option('--copy-node', 'copy this Node.js binary beside the executables (the host needs no Node.js)')
    .option('--conf-file <name>', 'conflist file name', '10-meshless.conflist')
    .option(
      '--cni-tls-dir <dir>',
      "the node's credentials directory on the host (ca.crt, tls.crt, tls.key of its node certificate), written into the conflist as tls: {ca, cert, key}; the plugin then speaks mutual TLS to the datastore",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  meshless cni install --bin-dir /opt/cni/bin --conf-dir /etc/cni/net.d --cni-datastore 10.0.0.5:5470 --chain portmap\n',
    )
    .action(async () => {
      const o = install.opts<{
        binDir: string;
        confDir: string;
        cniDatastore?: string;
        networkName: string;
        nodename?: string;
        mtu: string;
        chain: string;
        ipv6?: boolean;
        copyNode?: boolean;
        confFile: string;
        cniTlsDir?: string;
      }>();
      const mtu = Number(o.mtu);
      if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
        throw new CliError(`invalid --mtu '${o.mtu}': an MTU is 68-65535`);
      let result;
      try {
        const { installCni } = await import('../../../cni/index.js');
        result = installCni({
          binDir: o.binDir,
          confDir: o.confDir,
          datastore: o.cniDatastore ?? ctx.globals(install).datastore,
          name: o.networkName,
          ...(o.nodename ? { nodename: o.nodename } : {}),
          mtu,
          chain: o.chain
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          assignIpv6: o.ipv6 === true,
          copyNode: o.copyNode === true,
          confFileName: o.confFile,
          ...(o.cniTlsDir ? { tlsDir: o.cniTlsDir } : {}),
        });
      } catch (err) {
        throw new CliError((err as Error).message, { cause: err });
      }
      for (const e of result.executables) ctx.print(`installed ${e}\n`);
      ctx.print(`wrote ${result.conflist}\n`);
    });
}
