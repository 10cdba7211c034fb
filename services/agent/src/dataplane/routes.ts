// The route model of the Linux dataplane: what a route the agent owns looks like, how the kernel's
// view of it is read (`ip -d -j route show proto P`), how desired and kernel routes are compared,
// and the `ip -force -batch -` lines that turn one into the other.
//
// A route's identity is what the kernel keys it by in one table: destination and metric (IPv4
// also keys by TOS, which we never set). Two routes with the same identity are "the same slot":
// we replace ours in place, delete ours when no longer wanted, and never write a slot a foreign
// route (another protocol) holds: new routes use `route add` (NLM_F_EXCL), so the kernel refuses
// atomically when the slot is taken, and the refusal is reported as a conflict.
import { tryParseCidr, type IpFamily } from '../../../shared/resources/index.js';

export type RouteType = 'unicast' | 'unreachable' | 'blackhole';

/** Why the agent wants a route: for status and logs only, never compared with the kernel. */
export type RouteReason = 'workload' | 'local-block' | 'borrowed-hole' | 'remote-block' | 'remote-borrowed';

export interface Route {
  readonly family: IpFamily;
  /** Canonical CIDR, always with its prefix length ("10.65.0.5/32"). */
  readonly dst: string;
  readonly type: RouteType;
  /** Output interface (unicast). */
  readonly dev?: string;
  /** Gateway (unicast via a next hop). */
  readonly via?: string;
  /** 'link' for IPv4 routes straight to an interface; 'global' otherwise (IPv6 is always global). */
  readonly scope: 'link' | 'global';
  readonly metric: number;
  readonly reason?: RouteReason;
  /** The resource that asked for it (e.g. `WorkloadEndpoint ns/name`), for status and logs. */
  readonly owner?: string;
}

/** What the kernel reports for one of our routes (already filtered by protocol). */
export interface KernelRoute {
  readonly family: IpFamily;
  readonly dst: string;
  readonly type: string;
  readonly dev: string | undefined;
  readonly via: string | undefined;
  readonly scope: string;
  readonly metric: number;
}

/** The kernel's default metric when a route names none: 0 for IPv4, 1024 for IPv6. */
export function defaultMetric(family: IpFamily): number {
  return family === 4 ? 0 : 1024;
}

export function routeKey(r: { family: IpFamily; dst: string; metric: number }): string {
  return `${r.dst} ${r.metric}`;
}

/** Whether the kernel's route is what we want in its slot (same type, interface, gateway, scope). */
export function sameRoute(want: Route, have: KernelRoute): boolean {
  if (want.type !== have.type) return false;
  if (want.type !== 'unicast') return true;
  if ((want.via ?? undefined) !== have.via) return false;
  // A gateway route may name its interface or let the kernel pick one: compare only when named.
  if (want.dev !== undefined && want.dev !== have.dev) return false;
  return want.family === 6 || want.scope === have.scope;
}

/**
 * Parses `ip -d -j [-6] route show proto P table T` output. Routes the kernel prints without a
 * prefix length are host routes; `default` is 0.0.0.0/0 or ::/0. Entries that are not routes we
 * could own (multipath, other families) come back in `unparsed` so a caller can report them.
 */
export function parseKernelRoutes(json: string, family: IpFamily): { routes: KernelRoute[]; unparsed: string[] } {
  const text = json.trim();
  if (text === '') return { routes: [], unparsed: [] };
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch (err) {
    throw new Error(`ip route show: output is not JSON (${(err as Error).message}): ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(rows)) throw new Error(`ip route show: expected a JSON array, got ${text.slice(0, 200)}`);
  const routes: KernelRoute[] = [];
  const unparsed: string[] = [];
  for (const row of rows) {
    const r = row as Record<string, unknown>;
    const rawDst = typeof r.dst === 'string' ? r.dst : '';
    const dstText =
      rawDst === 'default'
        ? family === 4
          ? '0.0.0.0/0'
          : '::/0'
        : rawDst.includes('/')
          ? rawDst
          : `${rawDst}/${family === 4 ? 32 : 128}`;
    const cidr = tryParseCidr(dstText);
    if (typeof cidr === 'string' || cidr.family !== family || Array.isArray(r.nexthops)) {
      unparsed.push(JSON.stringify(row));
      continue;
    }
    routes.push({
      family,
      dst: cidr.text,
      type: typeof r.type === 'string' ? r.type : 'unicast',
      dev: typeof r.dev === 'string' ? r.dev : undefined,
      via: typeof r.gateway === 'string' ? r.gateway : undefined,
      scope: typeof r.scope === 'string' ? r.scope : 'global',
      metric: typeof r.metric === 'number' ? r.metric : defaultMetric(family),
    });
  }
  return { routes, unparsed };
}

export interface RouteDiff {
  /** Slots the kernel does not have a route of ours in: `route add` (fails if a foreign route holds it). */
  readonly add: Route[];
  /** Slots holding a route of ours that differs: `route replace`. */
  readonly replace: Route[];
  /** Routes of ours nobody wants any more: `route del ... proto P`. */
  readonly remove: KernelRoute[];
}

export function diffRoutes(desired: ReadonlyMap<string, Route>, kernel: readonly KernelRoute[]): RouteDiff {
  const add: Route[] = [];
  const replace: Route[] = [];
  const remove: KernelRoute[] = [];
  const seen = new Set<string>();
  for (const have of kernel) {
    const key = routeKey(have);
    const want = desired.get(key);
    if (!want || seen.has(key)) remove.push(have);
    else if (!sameRoute(want, have)) replace.push(want);
    seen.add(key);
  }
  for (const [key, want] of desired) if (!seen.has(key)) add.push(want);
  return { add, replace, remove };
}

function routeSpec(r: Route, protocol: number, table: string): string {
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(r.dst);
  if (r.via) parts.push('via', r.via);
  if (r.dev) parts.push('dev', r.dev);
  parts.push('proto', String(protocol));
  if (r.family === 4 && r.type === 'unicast') parts.push('scope', r.scope);
  parts.push('metric', String(r.metric), 'table', table);
  return parts.join(' ');
}

export interface BatchLine {
  readonly op: 'add' | 'replace' | 'remove';
  readonly text: string;
  readonly route: Route | KernelRoute;
}

/** The `ip -batch` lines for a diff: deletions first (they free slots), then replacements and additions. */
export function batchLines(diff: RouteDiff, protocol: number, table: string): BatchLine[] {
  const lines: BatchLine[] = [];
  for (const r of diff.remove)
    lines.push({
      op: 'remove',
      route: r,
      text: `route del ${r.dst} proto ${protocol} metric ${r.metric} table ${table}`,
    });
  for (const r of diff.replace)
    lines.push({ op: 'replace', route: r, text: `route replace ${routeSpec(r, protocol, table)}` });
  for (const r of diff.add) lines.push({ op: 'add', route: r, text: `route add ${routeSpec(r, protocol, table)}` });
  return lines;
}

export type BatchErrorKind = 'missing-interface' | 'conflict' | 'gone' | 'other';

export interface BatchError {
  /** 1-based line of the batch. */
  readonly line: number;
  readonly kind: BatchErrorKind;
  readonly message: string;
}

/**
 * Reads `ip -force -batch` stderr: each failed line is reported as its error text followed by
 * `Command failed -:N`. The kernel's answer tells what happened: `Cannot find device` (the
 * workload's interface is not there yet), `File exists` (a foreign route holds the slot), `No
 * such process` (the route to delete is already gone); `not up` (the interface is down: waits too).
 */
export function parseBatchErrors(stderr: string): BatchError[] {
  const errors: BatchError[] = [];
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const failed = /^Command failed (?:-|\S+):(\d+)$/.exec(line);
    if (!failed) {
      pending.push(line);
      continue;
    }
    const message = pending.join('; ') || 'failed';
    pending = [];
    let kind: BatchErrorKind = 'other';
    if (
      /Cannot find device|Network is down|No such device|device is not up|Device for nexthop is not up/i.test(message)
    )
      kind = 'missing-interface';
    else if (/File exists/i.test(message)) kind = 'conflict';
    else if (/No such process/i.test(message)) kind = 'gone';
    errors.push({ line: Number(failed[1]), kind, message });
  }
  return errors;
}
