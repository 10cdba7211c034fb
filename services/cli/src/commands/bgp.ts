// `meshless bgp`: a route reflector's sessions and table through its admin API
// (proto/meshless/v1/rr_admin.proto), shown as operators know them: `peers` like
// `calicoctl node status` (with birdc's prefix counts), `routes` like `birdc show route all`.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError, oneLine } from '../failure.js';
import { boxTable } from '../table.js';
import { isHostPort } from '../../../shared/config/index.js';

export const DEFAULT_RR_ADMIN = '127.0.0.1:5474';

type RrModule = typeof import('../../../rr/index.js');
type PeersResponse = Awaited<ReturnType<ReturnType<RrModule['createRrAdminClient']>['peers']>>;
type RoutesResponse = Awaited<ReturnType<ReturnType<RrModule['createRrAdminClient']>['routes']>>;
type StatusResponse = Awaited<ReturnType<ReturnType<RrModule['createRrAdminClient']>['status']>>;

/** BIRD's protocol state column: up while Established, start while trying, down when shut down. */
function protoState(state: string, info: string): string {
  if (state === 'Established') return 'up';
  return /shutdown/i.test(info) && state === 'Idle' ? 'down' : 'start';
}

/** calicoctl prints the time of day for today, the date otherwise. */
function since(ms: number, now = new Date()): string {
  if (!ms) return '';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d.toDateString() === now.toDateString())
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function formatPeers(res: PeersResponse, now = new Date()): string {
  const rows = res.peers.map((p) => [
    p.address,
    p.type,
    protoState(p.state, p.info),
    since(p.establishedAtMs, now),
    p.state === 'Established' ? 'Established' : [p.state, p.info].filter(Boolean).join('  '),
    String(p.prefixesAccepted),
    String(p.prefixesRejected),
    String(p.prefixesSent),
  ]);
  return boxTable(['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO', 'IMPORTED', 'FILTERED', 'EXPORTED'], rows, [
    'left',
    'left',
    'left',
    'left',
    'left',
    'right',
    'right',
    'right',
  ]);
}

function originLetter(origin: string): string {
  return origin === 'IGP' ? 'i' : origin === 'EGP' ? 'e' : '?';
}

/** Calico's LOCAL_PREF encoding of a route priority (confd): local_pref = 2^31 - 1 - priority. */
const PRIORITY_BASE = 2147483647;
/** Priorities Calico uses in practice (normal 1024, elevated 512) are small; others are plain LOCAL_PREFs. */
const MAX_SHOWN_PRIORITY = 65535;

/** " (Calico route priority N)" when the LOCAL_PREF is Calico's encoding of a priority. */
export function calicoPriorityNote(localPref: number): string {
  const priority = PRIORITY_BASE - localPref;
  return priority >= 1 && priority <= MAX_SHOWN_PRIORITY ? ` (Calico route priority ${priority})` : '';
}

export function formatRoutes(res: RoutesResponse, status: StatusResponse): string {
  let out = `Table master (AS ${status.asNumber}, router id ${status.routerId}, cluster id ${status.clusterId}): ${res.matched} prefixes\n`;
  for (const pr of res.prefixes) {
    pr.paths.forEach((p, i) => {
      const from = p.peer ? `from ${p.peer}` : 'originated';
      const flags = `${p.best ? '*' : ' '}${p.stale ? ' (stale)' : ''}${p.llgrStale ? ' (llgr-stale)' : ''}`;
      const head = `${i === 0 ? pr.prefix.padEnd(20) : ' '.repeat(20)} via ${p.nextHop} ${from} [${p.source}${p.pathId ? ` path ${p.pathId}` : ''}] ${flags} (${p.hasLocalPref ? p.localPref : '-'}) [${p.asPath ? `AS${p.asPath.split(' ').pop()}` : ''}${originLetter(p.origin)}]`;
      out += head.trimEnd() + '\n';
      out += `\tBGP.origin: ${p.origin}\n\tBGP.as_path: ${p.asPath}\n\tBGP.next_hop: ${p.nextHop}\n`;
      if (p.hasMed) out += `\tBGP.med: ${p.med}\n`;
      if (p.hasLocalPref) out += `\tBGP.local_pref: ${p.localPref}${calicoPriorityNote(p.localPref)}\n`;
      if (p.originatorId) out += `\tBGP.originator_id: ${p.originatorId}\n`;
      if (p.clusterList.length) out += `\tBGP.cluster_list: ${p.clusterList.join(' ')}\n`;
      if (p.communities.length)
        out += `\tBGP.community: ${p.communities.map((c) => `(${c.replace(':', ',')})`).join(' ')}\n`;
      if (p.largeCommunities.length)
        out += `\tBGP.large_community: ${p.largeCommunities.map((c) => `(${c.split(':').join(', ')})`).join(' ')}\n`;
    });
  }
  if (res.truncated) out += `(${res.prefixes.length} of ${res.matched} prefixes shown; --limit raises it)\n`;
  return out;
}

export function register(program: Command, ctx: CliContext): void {
  const bgp = program
    .command('bgp')
    .summary("a route reflector's BGP sessions and routes (its admin API)")
    .description(
      "Show a route reflector's BGP sessions and routes, or reset and shut down sessions, through its admin API.",
    )
    .option('--rr <host:port>', `route reflector admin API (env MESHLESS_RR, default ${DEFAULT_RR_ADMIN})`)
    .addHelpText(
      'after',
      `
Examples:
  meshless bgp peers                                   # like calicoctl node status
  meshless bgp routes                                  # every prefix, like birdc show route all
  meshless bgp routes 10.244.1.0/26                    # one prefix: best path first, then the others
  meshless bgp routes 10.244.0.0/16 --longer           # every prefix inside
  meshless bgp peer reset 10.0.0.1 --message "maintenance"
  meshless bgp peer shutdown 10.0.0.1 --message "moving the ToR"   # RFC 9003 shutdown communication
  meshless bgp peer enable 10.0.0.1
  meshless bgp peers --rr 10.0.0.250:5474              # another reflector`,
    );

  const connect = async (cmd: Command) => {
    const o = cmd.optsWithGlobals<{ rr?: string }>();
    const address = o.rr ?? ctx.io.env.MESHLESS_RR ?? DEFAULT_RR_ADMIN;
    if (!isHostPort(address)) throw new CliError(`invalid --rr: must be HOST:PORT, got '${address}'`);
    const { timeoutMs, credentials } = ctx.globals(cmd);
    const rr = await import('../../../rr/index.js');
    const client = rr.createRrAdminClient(address, { deadlineMs: timeoutMs, ...(credentials ? { credentials } : {}) });
    ctx.onClose(() => client.close());
    return client;
  };
  const explain = (err: unknown, address: string): never => {
    const e = err as Error;
    if (
      e.name === 'UnavailableError' &&
      /No connection established/i.test(e.message) &&
      !/ECONNREFUSED|Connection refused/i.test(e.message)
    ) {
      throw new CliError(
        `no connection to the route reflector admin API at ${address} (if it serves mutual TLS, give --credentials DIR or MESHLESS_CREDENTIALS)`,
        { cause: err },
      );
    }
    if (e.name === 'UnavailableError' && /ECONNREFUSED|No connection established|Connection refused/i.test(e.message)) {
      throw new CliError(
        `no route reflector admin API at ${address} (is \`meshless rr\` running? --rr or MESHLESS_RR selects another)`,
        { cause: err },
      );
    }
    throw new CliError(oneLine(err), { cause: err });
  };

  bgp
    .command('peers')
    .description('List the BGP peers: type, state, since, info, prefixes imported, filtered and exported.')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (opts: { output: string }, cmd: Command) => {
      const client = await connect(cmd);
      const res = await client.peers().catch((err: unknown) => explain(err, client.address));
      if (opts.output === 'json') ctx.print(JSON.stringify(res.peers, null, 2) + '\n');
      else if (opts.output === 'table') ctx.print(formatPeers(res));
      else throw new CliError(`invalid --output '${opts.output}': table or json`);
    });

  bgp
    .command('routes [prefix]')
    .description("Show the routes in the reflector's table: every path of each prefix, best (*) first.")
    .option('--longer', 'every prefix inside PREFIX, not only PREFIX itself')
    .option('--limit <n>', 'at most this many prefixes', '1000')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(
      async (prefix: string | undefined, opts: { longer?: boolean; limit: string; output: string }, cmd: Command) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new CliError(`invalid --limit '${opts.limit}': a positive integer`);
        const client = await connect(cmd);
        const [res, status] = await Promise.all([
          client.routes({ prefix: prefix ?? '', longer: opts.longer === true, limit }),
          client.status(),
        ]).catch((err: unknown) => explain(err, client.address));
        if (opts.output === 'json') ctx.print(JSON.stringify(res, null, 2) + '\n');
        else if (opts.output === 'text') {
          if (prefix && res.matched === 0)
            throw new CliError(`no route for ${prefix}${opts.longer ? ' or inside it' : ''}`);
          ctx.print(formatRoutes(res, status));
        } else throw new CliError(`invalid --output '${opts.output}': text or json`);
      },
    );

  const peer = bgp.command('peer').description('Act on one BGP session.');
  const act = (name: 'reset' | 'shutdown', summary: string) =>
    peer
      .command(`${name} <address>`)
      .description(summary)
      .option('--message <text>', 'RFC 9003 shutdown communication sent in the NOTIFICATION (at most 255 octets)')
      .action(async (address: string, opts: { message?: string }, cmd: Command) => {
        const client = await connect(cmd);
        await client[name](address, opts.message).catch((err: unknown) => explain(err, client.address));
        ctx.print(`${name === 'reset' ? 'Reset' : 'Shut down'} BGP session with ${address}\n`);
      });
  act('reset', 'Reset the session (Cease/Administrative Reset), then connect again.');
  act('shutdown', 'Shut the session down (Cease/Administrative Shutdown); it stays down until `peer enable`.');
  peer
    .command('enable <address>')
    .description('Start a session that was shut down.')
    .action(async (address: string, _opts: unknown, cmd: Command) => {
      const client = await connect(cmd);
      await client.enable(address).catch((err: unknown) => explain(err, client.address));
      ctx.print(`Enabled BGP session with ${address}\n`);
    });
}
