// The container's interface, wired as Calico's CNI plugin wires it (no bridge, no overlay):
//
//   container netns                          host (the node)
//   CNI_IFNAME  ─────────── veth ──────────  caliXXXXXXXXXXX  (MAC ee:ee:ee:ee:ee:ee)
//   ADDR/32, fe80::/64 link-local            proxy_arp=1, neigh proxy_delay=0,
//   169.254.1.1 dev IF scope link            route ADDR/32 dev cali... scope link
//   default via 169.254.1.1 dev IF           route ADDR6/128 dev cali...
//   ADDR6/128 nodad, default via fe80::ecee:eeff:feee:eeee dev IF
//
// 169.254.1.1 is nobody's address: the host answers the container's ARP for it by proxy ARP
// (with no delay, else the first packet waits ~0.8 s), so every packet goes to the host, which
// routes it. For IPv6 the gateway is the host veth's own EUI-64 link-local address, answered by
// plain NDP. The MAC is fixed on the host side so the container's neighbour entry never changes.
//
// Two processes in all: `ip -batch` inside the container's netns (through nsenter, since
// CNI_NETNS is a path, not a name) creates the pair and moves the host end to this process's
// netns in the same command; `ip -batch` on the host brings it up and adds the routes. Sysctls
// are plain writes to /proc/sys (this process is in the host netns).
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { CniCode, CniError } from './errors.js';

export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
/** The IPv4 gateway every workload uses (Calico's). */
export const GATEWAY_V4 = '169.254.1.1';
/** The host veth's EUI-64 link-local address for MAC ee:ee:ee:ee:ee:ee (RFC 4291 App. A). */
export const GATEWAY_V6 = 'fe80::ecee:eeff:feee:eeee';

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';
const NSENTER = ['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter'].find((p) => existsSync(p)) ?? 'nsenter';

export interface WireRequest {
  netns: string;
  ifname: string;
  hostVeth: string;
  mtu: number;
  /** The host route's `proto`: the agent's, so the agent owns (keeps, repairs, removes) it. */
  routeProtocol: number;
  containerMac: string;
  /** Addresses without prefix length. */
  ipv4: string[];
  ipv6: string[];
}

interface Run {
  code: number;
  stderr: string;
  stdout: string;
}

function run(file: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout, stderr: stderr || (err && !stderr ? err.message : '') });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

function inNetns(netns: string, args: string[], input?: string): Promise<Run> {
  return run(NSENTER, [`--net=${netns}`, IP, ...args], input);
}

function failed(what: string, r: Run): CniError {
  return new CniError(
    CniCode.Dataplane,
    `${what}: ${r.stderr.trim().split('\n').slice(-2).join('; ') || `exit status ${r.code}`}`,
  );
}

/** Creates and configures the pair; the caller removes it (teardown) if a later step fails. */
export async function wire(req: WireRequest): Promise<void> {
  if (!existsSync(req.netns)) throw new CniError(CniCode.UnknownContainer, `CNI_NETNS ${req.netns} does not exist`);
  const create = `link add ${req.ifname} mtu ${req.mtu} address ${req.containerMac} type veth peer name ${req.hostVeth} mtu ${req.mtu} address ${HOST_VETH_MAC} netns ${process.pid}`;
  const container = [create, `link set ${req.ifname} up`];
  for (const a of req.ipv4) container.push(`addr add ${a}/32 dev ${req.ifname}`);
  if (req.ipv4.length > 0)
    container.push(
      `route add ${GATEWAY_V4} dev ${req.ifname} scope link`,
      `route add default via ${GATEWAY_V4} dev ${req.ifname}`,
    );
  for (const a of req.ipv6) container.push(`addr add ${a}/128 dev ${req.ifname} nodad`);
  if (req.ipv6.length > 0) container.push(`route add default via ${GATEWAY_V6} dev ${req.ifname}`);
  let r = await inNetns(req.netns, ['-batch', '-'], container.join('\n') + '\n');
  if (r.code !== 0 && /File exists/.test(r.stderr)) {
    // A host veth of that name is left over (an earlier ADD of the same pod that was never
    // deleted): Calico removes it and carries on. The container's own interface is checked
    // separately so an existing CNI_IFNAME in the netns stays an error.
    const inside = await inNetns(req.netns, ['link', 'show', req.ifname]);
    if (inside.code === 0)
      throw new CniError(CniCode.Dataplane, `interface ${req.ifname} already exists in ${req.netns}`);
    await unwire(req.hostVeth);
    r = await inNetns(req.netns, ['-batch', '-'], container.join('\n') + '\n');
  }
  if (r.code !== 0) throw failed(`wiring ${req.ifname} in ${req.netns}`, r);

  setSysctl(`/proc/sys/net/ipv4/conf/${req.hostVeth}/proxy_arp`, '1');
  setSysctl(`/proc/sys/net/ipv4/neigh/${req.hostVeth}/proxy_delay`, '0');
  setSysctl(`/proc/sys/net/ipv4/conf/${req.hostVeth}/forwarding`, '1');
  if (req.ipv6.length > 0) {
    setSysctl(`/proc/sys/net/ipv6/conf/${req.hostVeth}/accept_ra`, '0');
    setSysctl(`/proc/sys/net/ipv6/conf/${req.hostVeth}/forwarding`, '1', true);
  }
  const host = [`link set ${req.hostVeth} up`];
  for (const a of req.ipv4)
    host.push(`route replace ${a}/32 dev ${req.hostVeth} scope link proto ${req.routeProtocol}`);
  for (const a of req.ipv6) host.push(`route replace ${a}/128 dev ${req.hostVeth} proto ${req.routeProtocol}`);
  r = await run(IP, ['-batch', '-'], host.join('\n') + '\n');
  if (r.code !== 0) throw failed(`configuring ${req.hostVeth} on the host`, r);
}

function setSysctl(path: string, value: string, optional = false): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    if (optional) return;
    throw new CniError(
      CniCode.Dataplane,
      `cannot set ${path.replace('/proc/sys/', '').replaceAll('/', '.')}=${value}: ${(err as Error).message}`,
    );
  }
}

/** Deletes the pair by its host end (routes go with it); a pair already gone is fine. */
export async function unwire(hostVeth: string): Promise<void> {
  const r = await run(IP, ['link', 'del', hostVeth]);
  if (r.code !== 0 && !/Cannot find device|does not exist/.test(r.stderr)) throw failed(`deleting ${hostVeth}`, r);
}

/** CHECK: the container side has the addresses and default routes, the host side is up with its routes. */
export async function checkWiring(req: Omit<WireRequest, 'containerMac' | 'mtu' | 'routeProtocol'>): Promise<void> {
  if (!existsSync(req.netns)) throw new CniError(CniCode.UnknownContainer, `CNI_NETNS ${req.netns} does not exist`);
  const addr = await inNetns(req.netns, ['-j', 'addr', 'show', 'dev', req.ifname]);
  if (addr.code !== 0) throw new CniError(CniCode.CheckFailed, `interface ${req.ifname} is missing in ${req.netns}`);
  const links = JSON.parse(addr.stdout || '[]') as {
    operstate?: string;
    flags?: string[];
    addr_info?: { local: string; prefixlen: number }[];
  }[];
  const have = new Set((links[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
  for (const a of req.ipv4)
    if (!have.has(`${a}/32`)) throw new CniError(CniCode.CheckFailed, `${req.ifname} lacks ${a}/32`);
  for (const a of req.ipv6)
    if (!have.has(`${a}/128`)) throw new CniError(CniCode.CheckFailed, `${req.ifname} lacks ${a}/128`);
  if (!(links[0]?.flags ?? []).includes('UP')) throw new CniError(CniCode.CheckFailed, `${req.ifname} is down`);
  const families: [string, string, string[]][] = [
    ['-4', GATEWAY_V4, req.ipv4],
    ['-6', GATEWAY_V6, req.ipv6],
  ];
  for (const [flag, gw, addrs] of families) {
    if (addrs.length === 0) continue;
    const routes = await inNetns(req.netns, ['-j', flag, 'route', 'show', 'default']);
    const list = JSON.parse(routes.stdout || '[]') as { gateway?: string; dev?: string }[];
    if (!list.some((x) => x.gateway === gw && x.dev === req.ifname))
      throw new CniError(CniCode.CheckFailed, `no default route via ${gw} dev ${req.ifname} in ${req.netns}`);
  }
  const host = await run(IP, ['-j', 'route', 'show', 'dev', req.hostVeth]);
  if (host.code !== 0) throw new CniError(CniCode.CheckFailed, `host interface ${req.hostVeth} is missing`);
  const hostRoutes = new Set((JSON.parse(host.stdout || '[]') as { dst: string }[]).map((x) => x.dst));
  for (const a of req.ipv4)
    if (!hostRoutes.has(a) && !hostRoutes.has(`${a}/32`))
      throw new CniError(CniCode.CheckFailed, `no host route to ${a} via ${req.hostVeth}`);
}
