// `meshless certs`: a local certificate authority for mutual TLS between Meshless processes.
//   certs init                          the CA (ca.crt, ca.key) under ~/.config/meshless/ca
//   certs issue --node NAME --role R    a certificate for one identity, as a credentials
//                                       directory (ca.crt, tls.crt, tls.key) any service or the
//                                       CLI takes with --credentials DIR
// The identity is the URI SAN meshless://ROLE/NAME (services/shared/tls/identity.ts).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError } from '../failure.js';

function defaultCaDir(env: NodeJS.ProcessEnv, credentialsDir: string): string {
  return env.MESHLESS_CA_DIR || join(dirname(credentialsDir), 'ca');
}

export function register(program: Command, ctx: CliContext): void {
  const certs = program
    .command('certs')
    .summary('a local certificate authority: certificates for mutual TLS')
    .description(
      'Create a local CA and issue certificates (identity = role and name, in a URI SAN meshless://ROLE/NAME).',
    )
    .addHelpText(
      'after',
      `
Roles: admin (everything), node (its agent and CNI plugin: its own view, WorkloadEndpoints and IPAM),
reflector (the bgp view, its LearnedRoutes), sync-server, controller, read-only, datastore.

Examples:
  meshless certs init                                             # ~/.config/meshless/ca
  meshless certs issue --role datastore --node datastore-0 --out /etc/meshless/datastore
  meshless certs issue --role node --node node-a1 --out ./node-a1
  meshless certs issue --role admin --node alice --out ~/.config/meshless/credentials   # found by the CLI
  meshless datastore --credentials /etc/meshless/datastore`,
    );

  certs
    .command('init')
    .description('Create the CA: a self-signed ECDSA P-256 certificate (ca.crt) and its key (ca.key, mode 0600).')
    .option('--ca-dir <dir>', 'where the CA lives (env MESHLESS_CA_DIR, default ~/.config/meshless/ca)')
    .option('--days <n>', 'validity in days', '3650')
    .option('--force', 'replace an existing CA (every certificate it issued stops being accepted)')
    .action(async (opts: { caDir?: string; days: string; force?: boolean }) => {
      const tls = await import('../../../shared/tls/index.js');
      const dir = resolve(opts.caDir ?? defaultCaDir(ctx.io.env, tls.defaultCredentialsDir(ctx.io.env)));
      if (existsSync(join(dir, tls.CA_FILE)) && !opts.force)
        throw new CliError(`a CA already exists in ${dir} (--force replaces it)`);
      const ca = await tls.createCa({ days: positive(opts.days, '--days') });
      tls.writeCa(dir, ca);
      ctx.print(`CA created in ${dir} (${tls.CA_FILE}, ${tls.CA_KEY_FILE})\n`);
    });

  certs
    .command('issue')
    .description('Issue a certificate for one identity, written as a credentials directory (ca.crt, tls.crt, tls.key).')
    .requiredOption(
      '--node <name>',
      "the identity's name: the node name for --role node or reflector, any name otherwise",
    )
    .requiredOption('--role <role>', 'admin, node, reflector, sync-server, controller, read-only or datastore')
    .option('--out <dir>', 'directory to write (default ./ROLE-NAME)')
    .option('--ca-dir <dir>', 'the CA (env MESHLESS_CA_DIR, default ~/.config/meshless/ca)')
    .option('--days <n>', 'validity in days', '365')
    .option('--host <name...>', "DNS names or IP addresses to add, for tools that check the server's host name")
    .action(
      async (opts: { node: string; role: string; out?: string; caDir?: string; days: string; host?: string[] }) => {
        const tls = await import('../../../shared/tls/index.js');
        if (!tls.isRole(opts.role))
          throw new CliError(`invalid --role '${opts.role}': must be one of ${tls.ROLES.join(', ')}`);
        const bad = tls.checkIdentityName(opts.node);
        if (bad) throw new CliError(`invalid --node: ${bad}`);
        const dir = resolve(opts.caDir ?? defaultCaDir(ctx.io.env, tls.defaultCredentialsDir(ctx.io.env)));
        const ca = tls.readCa(dir);
        if (!ca)
          throw new CliError(
            `no CA in ${dir} (meshless certs init creates one; --ca-dir or MESHLESS_CA_DIR selects another)`,
          );
        const out = resolve(opts.out ?? `${opts.role}-${opts.node}`);
        const issued = await tls.issueCertificate(ca, {
          identity: { role: opts.role, name: opts.node },
          days: positive(opts.days, '--days'),
          hosts: opts.host ?? [],
        });
        tls.writeCredentials(out, { ca: ca.cert, cert: issued.cert, key: issued.key });
        ctx.print(
          `issued ${tls.identityUri({ role: opts.role, name: opts.node })} in ${out} (ca.crt, tls.crt, tls.key)\n`,
        );
      },
    );
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new CliError(`invalid ${flag}: must be a positive whole number of days, got '${text}'`);
  return n;
}
