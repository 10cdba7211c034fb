// The node agent's Linux dataplane: keeps the kernel's routes equal to what the synced view asks
// for (desired.ts), touching only routes it owns (its own `proto` number).
//
// Reconcile, not replay: every pass reads the kernel's routes of our protocol, diffs them with the
// desired set and fixes the difference in one `ip -force -batch -`, then makes sure every local
// workload interface has proxy ARP (and proxy_delay 0, as Calico sets it, so the first ARP answer
// is not held back ~0.8 s). A pass runs
//   - on start (once the caller's view is authoritative: see start()),
//   - shortly after the view changes (changes within `debounceMs` share a pass),
//   - when `ip monitor` reports one of our routes deleted or a workload interface changing,
//   - every `reconcileIntervalMs` regardless, so drift nobody announced is repaired too.
// Passes never overlap; a trigger during a pass runs one more pass after it.
//
// What it never does: touch a route of another protocol (a new route is `route add`, which the
// kernel refuses when another route holds the slot: reported as a conflict), flush on shutdown or
// when the sync servers go away (routes stay until the view says otherwise), or delete anything
// before start() (an agent that restarts with an empty view would otherwise drop live traffic).
//
// Rejected: applying only the deltas from the sync stream (Felix did that once and needed a
// periodic resync anyway; a diff against the kernel repairs hand edits, interface flaps and lost
// writes with one code path), and a netlink binding (a native addon; `ip -batch` already writes
// 1,000 routes in one process).
import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { computeDesired, type DesiredState, type Upstream } from './desired.js';
import { Kernel, interfaceSysctl } from './kernel.js';
import {
  batchLines,
  diffRoutes,
  parseBatchErrors,
  parseKernelRoutes,
  routeKey,
  type KernelRoute,
  type Route,
} from './routes.js';
import { DataplaneView, type ResourceChange } from './view.js';
import { ChangeMarks, changeLatency, type ChangeLatency, type MarkedChange } from './change-marks.js';
import type { IpFamily } from '../../../shared/resources/index.js';

export const DEFAULT_ROUTE_PROTOCOL = 80;

export interface LinuxDataplaneOptions {
  /** This node's name. */
  node: string;
  /** Network namespace to program (unset: this process's own). */
  netns?: string;
  /** The `proto` number our routes carry, 1-255 except the kernel's reserved 0-4 (default 80). */
  routeProtocol?: number;
  /** Routing table, a name from rt_tables or a number (default main). */
  table?: string;
  /** Route type for this node's blocks (default blackhole, as Calico; unreachable sends senders an ICMP error). */
  blockRouteType?: 'unreachable' | 'blackhole';
  /** Route other nodes' blocks via their node address, for nodes on one L2 segment (default false). */
  remoteBlocks?: boolean;
  /** Full reconcile period, ms (default 30 s). */
  reconcileIntervalMs?: number;
  /** Delay that lets a burst of changes share one pass, ms (default 10). */
  debounceMs?: number;
  /** Follow `ip monitor` for early repair (default true). */
  watchKernel?: boolean;
  /** Turn on IP forwarding for the families that have workload routes (default true). */
  forwarding?: boolean;
  ipBin?: string;
  log?: Logger;
  /** Meter for the dataplane's metrics (meshless_agent_dataplane_*). */
  meter?: Meter;
}

export interface ReconcileResult {
  /** Routes the view asks for. */
  readonly desired: number;
  /** Routes of ours in the kernel after the pass, by reason (`workload`, `local-block`, ...). */
  readonly programmed: number;
  readonly added: number;
  readonly replaced: number;
  readonly removed: number;
  /** Routes that had been programmed and were found missing (deleted by hand, lost with an interface). */
  readonly restored: number;
  /** Routes waiting for their interface to appear: `dst dev`. */
  readonly waitingForInterface: readonly string[];
  /** Slots held by a route of another protocol that we left alone: `dst (owner)`. */
  readonly conflicts: readonly string[];
  /** Anything else that failed. */
  readonly errors: readonly string[];
  /** Why some resource gave no route. */
  readonly problems: readonly string[];
  /** Time spent reading the kernel's routes, ms. */
  readonly readMs: number;
  /** Time spent in the batch write alone, ms (0 when nothing was written). */
  readonly writeMs: number;
  /** Time spent checking and writing interface settings, ms. */
  readonly settingsMs: number;
  /** Whether every workload interface's settings were checked (start and periodic passes), not only new ones. */
  readonly full: boolean;
  /** The whole pass, ms. */
  readonly durationMs: number;
}

export interface DataplaneStatus {
  readonly started: boolean;
  readonly passes: number;
  readonly last: ReconcileResult | undefined;
  readonly lastError: string | undefined;
}

const IFNAME = /^[^\s/:]{1,15}$/;

export class LinuxDataplane {
  readonly view = new DataplaneView();
  private readonly kernel: Kernel;
  private readonly protocol: number;
  /** Matches an `ip monitor` line of a route of ours ("... proto 80 ..."). */
  private readonly ourProto: RegExp;
  private readonly table: string;
  private readonly log: Logger | undefined;
  private started = false;
  private closed = false;
  private dirty = false;
  /** The next pass checks every interface's settings, not only those not yet confirmed. */
  private fullPending = true;
  /** Interfaces whose proxy ARP settings a pass confirmed; an interface that goes or gets new routes is checked again. */
  private configured = new Set<string>();
  private loop: Promise<void> | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private monitor: { stop(): void } | undefined;
  /** Keys of routes a pass left in the kernel: a later pass finding one missing counts a restore. */
  private programmed = new Set<string>();
  /** Interfaces named by desired routes (the monitor reacts to their events only). */
  private interfaces = new Set<string>();
  private lastConflicts = new Set<string>();
  private passes = 0;
  private last: ReconcileResult | undefined;
  private lastError: string | undefined;
  private readonly waiters: Array<{ resolve: (r: ReconcileResult) => void; reject: (e: Error) => void }> = [];
  /** Live changes waiting for the pass that programs them (latency and spans). */
  private readonly marks = new ChangeMarks();
  private latency: ChangeLatency | undefined;
  private readonly counters: {
    restored?: { add(n: number): void };
    passes?: { add(n: number): void };
    duration?: { record(v: number): void };
  } = {};

  constructor(private readonly options: LinuxDataplaneOptions) {
    const protocol = options.routeProtocol ?? DEFAULT_ROUTE_PROTOCOL;
    if (!Number.isInteger(protocol) || protocol < 5 || protocol > 255) {
      throw new RangeError(
        `routeProtocol: ${protocol} is not a route protocol we may own (5-255; 0-4 are the kernel's)`,
      );
    }
    if (!options.node) throw new RangeError("node: required (this node's name)");
    const table = options.table ?? 'main';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(table))
      throw new RangeError(`table: '${table}' is not a routing table name or number`);
    this.protocol = protocol;
    this.ourProto = new RegExp(`\\bproto ${protocol}\\b`);
    this.table = table;
    this.kernel = new Kernel({ netns: options.netns, ipBin: options.ipBin });
    this.log = options.log;
    if (options.meter) this.instrument(options.meter);
  }

  get routeProtocol(): number {
    return this.protocol;
  }

  /**
   * Feeds changes of the synced view; a pass follows shortly once started. Live changes that carry
   * a commit time or trace context (AgentUpdate's) are timed and traced up to that pass's end.
   */
  apply(changes: Iterable<ResourceChange & MarkedChange>): void {
    const list = Array.isArray(changes) ? (changes as readonly (ResourceChange & MarkedChange)[]) : [...changes];
    if (this.view.apply(list) && this.started) {
      this.marks.add(list);
      this.schedule(this.options.debounceMs ?? 10);
    }
  }

  /** Replaces the whole view (e.g. after a snapshot). */
  replace(all: Iterable<ResourceChange>): void {
    this.view.clear();
    this.view.apply(all);
    if (this.started) this.schedule(this.options.debounceMs ?? 10);
  }

  /**
   * Starts programming: the first pass now (its result is returned), then passes on changes,
   * kernel events and the period. Call it once the view is authoritative (the agent's state
   * loaded from disk at some revision, or its first snapshot applied), never with an empty view
   * that only means "not synced yet".
   */
  async start(): Promise<ReconcileResult> {
    if (this.closed) throw new Error('LinuxDataplane: closed');
    if (!this.started) {
      this.started = true;
      const period = this.options.reconcileIntervalMs ?? 30_000;
      this.interval = setInterval(() => this.schedule(0, true), period);
      this.interval.unref();
      if (this.options.watchKernel ?? true) {
        this.monitor = this.kernel.monitor(
          (line) => this.onKernelEvent(line),
          (err) => this.log?.warn({ err: err.message }, 'kernel monitor failed; periodic reconcile continues'),
        );
      }
    }
    return this.reconcile();
  }

  /** Runs a pass now (after the one in progress, if any) and resolves with its result. */
  reconcile(): Promise<ReconcileResult> {
    if (this.closed) return Promise.reject(new Error('LinuxDataplane: closed'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule(0, true);
    });
  }

  status(): DataplaneStatus {
    return { started: this.started, passes: this.passes, last: this.last, lastError: this.lastError };
  }

  /** Stops passes and the monitor. Routes stay in the kernel: forwarding goes on without us. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.interval) clearInterval(this.interval);
    this.monitor?.stop();
    await this.loop;
    for (const w of this.waiters.splice(0)) w.reject(new Error('LinuxDataplane: closed'));
  }

  private schedule(delayMs: number, full = false): void {
    if (this.closed) return;
    this.dirty = true;
    if (full) this.fullPending = true;
    if (this.loop) return;
    if (delayMs > 0) {
      this.debounce ??= setTimeout(() => {
        this.debounce = undefined;
        this.runLoop();
      }, delayMs);
      return;
    }
    if (this.debounce) {
      clearTimeout(this.debounce);
      this.debounce = undefined;
    }
    this.runLoop();
  }

  private runLoop(): void {
    if (this.loop || this.closed) return;
    this.loop = (async () => {
      while (this.dirty && !this.closed) {
        this.dirty = false;
        const full = this.fullPending;
        this.fullPending = false;
        const waiters = this.waiters.splice(0);
        // The pass reads the view as it is now: the changes marked so far are the ones it programs.
        const marks = this.marks.begin(this.options.node);
        try {
          const result = await this.pass(full);
          this.last = result;
          this.lastError = undefined;
          marks?.done(this.latency, result);
          for (const w of waiters) w.resolve(result);
        } catch (err) {
          marks?.failed(err as Error);
          this.lastError = (err as Error).message;
          this.log?.error({ err: this.lastError }, 'dataplane reconcile failed');
          for (const w of waiters) w.reject(err as Error);
        }
      }
    })().finally(() => {
      this.loop = undefined;
      if (this.dirty && !this.closed) this.runLoop();
    });
  }

  private onKernelEvent(line: string): void {
    if (!this.started || this.closed) return;
    if (line.startsWith('Deleted ')) {
      const rest = line.slice(8);
      if (this.ourProto.test(rest)) return this.schedule(this.options.debounceMs ?? 10);
    }
    const link = /^(Deleted )?\d+: ([^:@\s]+)[@:]/.exec(line);
    if (!link || !this.interfaces.has(link[2]!)) return;
    // A new interface of the same name starts with default settings.
    if (link[1]) this.configured.delete(link[2]!);
    this.schedule(this.options.debounceMs ?? 10);
  }

  private async readRoutes(family: IpFamily): Promise<KernelRoute[]> {
    const out = await this.kernel.ipOut([
      '-d',
      '-j',
      `-${family}`,
      'route',
      'show',
      'proto',
      String(this.protocol),
      'table',
      this.table,
    ]);
    const { routes, unparsed } = parseKernelRoutes(out, family);
    for (const u of unparsed)
      this.log?.warn({ route: u }, 'a route of our protocol we do not understand (multipath?): left alone');
    return routes;
  }

  /** The first default route of another protocol: where borrowed addresses of our blocks go. */
  private async readUpstream(family: IpFamily): Promise<Upstream | undefined> {
    const out = await this.kernel.ipOut(['-j', `-${family}`, 'route', 'show', 'default', 'table', this.table]);
    const rows = out.trim() === '' ? [] : (JSON.parse(out) as Array<Record<string, unknown>>);
    for (const r of rows) {
      if (String(r.protocol ?? '') === String(this.protocol)) continue;
      const first = Array.isArray(r.nexthops) ? (r.nexthops[0] as Record<string, unknown> | undefined) : r;
      if (first && typeof first.gateway === 'string')
        return { via: first.gateway, ...(typeof first.dev === 'string' ? { dev: first.dev } : {}) };
    }
    return undefined;
  }

  private desired(upstream?: { 4?: Upstream; 6?: Upstream }): DesiredState {
    return computeDesired(this.view, {
      node: this.options.node,
      blockRouteType: this.options.blockRouteType ?? 'blackhole',
      remoteBlocks: this.options.remoteBlocks ?? false,
      ...(upstream ? { upstream } : {}),
    });
  }

  private async pass(full: boolean): Promise<ReconcileResult> {
    const t0 = performance.now();
    let desired = this.desired();
    const needs = desired.needsUpstream;
    const [v4, v6, up4, up6] = await Promise.all([
      this.readRoutes(4),
      // A kernel without IPv6 cannot hold IPv6 routes of ours: nothing to read unless we want some.
      this.readRoutes(6).catch((err: Error) => {
        if ([...desired.routes.values()].some((r) => r.family === 6)) throw err;
        return [];
      }),
      needs.has(4) ? this.readUpstream(4) : undefined,
      needs.has(6) ? this.readUpstream(6) : undefined,
    ]);
    const readMs = performance.now() - t0;
    if (needs.size > 0) desired = this.desired({ ...(up4 ? { 4: up4 } : {}), ...(up6 ? { 6: up6 } : {}) });

    // Interface names go into batch lines: a name with spaces would change the command.
    for (const [key, r] of desired.routes) {
      if (r.dev !== undefined && !IFNAME.test(r.dev)) {
        desired.routes.delete(key);
        desired.problems.push(`${r.owner}: interface name '${r.dev}' is not a valid Linux interface name`);
      }
    }
    this.interfaces = new Set([...desired.routes.values()].flatMap((r) => (r.dev ? [r.dev] : [])));

    const kernel = [...v4, ...v6];
    const diff = diffRoutes(desired.routes, kernel);
    const lines = batchLines(diff, this.protocol, this.table);

    // Interface settings before routes: once the route exists the workload gets traffic and
    // answers it, and an ARP for its gateway that finds proxy ARP still off is retried only a
    // second later (the neighbour entry fails first).
    const s0 = performance.now();
    for (const r of [...diff.add, ...diff.replace]) if (r.dev) this.configured.delete(r.dev);
    const settingErrors = await this.configureInterfaces(desired, full);
    const settingsMs = performance.now() - s0;

    const failed = new Map<string, string>();
    const waiting: string[] = [];
    const conflicts: string[] = [];
    const errors: string[] = [...settingErrors];
    let writeMs = 0;
    const failedOps = { add: 0, replace: 0 };
    if (lines.length > 0) {
      const w0 = performance.now();
      const result = await this.kernel.batch(lines.map((l) => l.text));
      writeMs = performance.now() - w0;
      const batchErrors = parseBatchErrors(result.stderr);
      if (result.code !== 0 && batchErrors.length === 0)
        errors.push(`ip -batch exited ${result.code}: ${result.stderr.trim().slice(0, 500)}`);
      for (const e of batchErrors) {
        const line = lines[e.line - 1];
        if (!line) {
          errors.push(`ip -batch: ${e.message} (line ${e.line})`);
          continue;
        }
        const r = line.route;
        if (line.op === 'remove') {
          if (e.kind !== 'gone') errors.push(`delete ${r.dst}: ${e.message}`);
          continue;
        }
        const route = r as Route;
        failed.set(routeKey(route), e.message);
        failedOps[line.op]++;
        if (e.kind === 'missing-interface') waiting.push(`${route.dst} dev ${route.dev}`);
        else if (e.kind === 'conflict') conflicts.push(`${route.dst} (${route.owner})`);
        else errors.push(`${line.op} ${route.dst}: ${e.message}`);
      }
    }

    let restored = 0;
    for (const r of diff.add) if (this.programmed.has(routeKey(r)) && !failed.has(routeKey(r))) restored++;
    // The desired routes the kernel now holds as we want them.
    const programmed = new Set<string>();
    for (const key of desired.routes.keys()) if (!failed.has(key)) programmed.add(key);
    this.programmed = programmed;

    for (const w of waiting) this.configured.delete(w.slice(w.indexOf(' dev ') + 5));

    const result: ReconcileResult = {
      desired: desired.routes.size,
      programmed: programmed.size,
      added: diff.add.length - failedOps.add,
      replaced: diff.replace.length - failedOps.replace,
      removed: diff.remove.length,
      restored,
      waitingForInterface: waiting,
      conflicts,
      errors,
      problems: desired.problems,
      readMs,
      writeMs,
      settingsMs,
      full,
      durationMs: performance.now() - t0,
    };
    this.passes++;
    this.report(result);
    return result;
  }

  /**
   * Proxy ARP (and proxy_delay 0) on local IPv4 workload interfaces, forwarding on. A full pass
   * checks every interface; the others only interfaces not confirmed yet (new, recreated, or
   * with routes just written), so a pass triggered by one new workload does not read 2,000 files.
   */
  private async configureInterfaces(desired: DesiredState, full: boolean): Promise<string[]> {
    const wanted = new Map<string, string>();
    const checking: string[] = [];
    for (const iface of desired.proxyArpInterfaces) {
      if (!full && this.configured.has(iface)) continue;
      checking.push(iface);
      wanted.set(interfaceSysctl('ipv4', 'conf', iface, 'proxy_arp'), '1');
      wanted.set(interfaceSysctl('ipv4', 'neigh', iface, 'proxy_delay'), '0');
    }
    if (this.options.forwarding ?? true) {
      if (desired.families.has(4)) wanted.set('/proc/sys/net/ipv4/ip_forward', '1');
      if (desired.families.has(6)) wanted.set('/proc/sys/net/ipv6/conf/all/forwarding', '1');
    }
    for (const iface of this.configured) if (!desired.proxyArpInterfaces.has(iface)) this.configured.delete(iface);
    if (wanted.size === 0) return [];
    // Written without reading first: the kernel ignores a write of the value a setting already
    // has, and one write costs less than a read followed by a write. A failed write means the
    // interface went away meanwhile (it is checked again when it comes back), or no permission.
    const failed = new Set(await this.kernel.writeSysctls(wanted));
    for (const iface of checking)
      if (!failed.has(interfaceSysctl('ipv4', 'conf', iface, 'proxy_arp'))) this.configured.add(iface);
    const gone = new Set(checking.filter((i) => !this.configured.has(i)));
    return [...failed].filter((p) => !gone.has(p.split('/')[6]!)).map((p) => `cannot write ${p}`);
  }

  private report(r: ReconcileResult): void {
    const log = this.log;
    this.counters.passes?.add(1);
    this.counters.duration?.record(r.durationMs / 1000);
    if (r.restored > 0) this.counters.restored?.add(r.restored);
    if (!log) return;
    if (r.added + r.replaced + r.removed > 0) {
      log.info(
        {
          added: r.added,
          replaced: r.replaced,
          removed: r.removed,
          restored: r.restored,
          programmed: r.programmed,
          writeMs: Math.round(r.writeMs * 10) / 10,
        },
        'routes programmed',
      );
    }
    if (r.restored > 0)
      log.warn(
        { restored: r.restored },
        'routes of ours had gone from the kernel (deleted by hand, or with their interface): restored',
      );
    const conflicts = new Set(r.conflicts);
    const fresh = r.conflicts.filter((c) => !this.lastConflicts.has(c));
    if (fresh.length > 0)
      log.warn(
        { conflicts: fresh.slice(0, 20), count: fresh.length },
        'a route of another protocol holds these destinations: left alone',
      );
    this.lastConflicts = conflicts;
    if (r.errors.length > 0) log.error({ errors: r.errors.slice(0, 20), count: r.errors.length }, 'dataplane errors');
  }

  private instrument(meter: Meter): void {
    this.counters.passes = meter.createCounter('meshless_agent_dataplane_reconciles_total', {
      description: 'dataplane reconcile passes',
    });
    this.counters.restored = meter.createCounter('meshless_agent_dataplane_routes_restored_total', {
      description: 'routes of ours found missing from the kernel and put back',
    });
    this.counters.duration = meter.createHistogram('meshless_agent_dataplane_reconcile_seconds', {
      description: 'duration of a reconcile pass',
      unit: 's',
    });
    this.latency = changeLatency(meter);
    meter
      .createObservableGauge('meshless_agent_dataplane_routes', {
        description: 'routes by state: desired, programmed, waiting (for an interface), conflict',
      })
      .addCallback((o) => {
        const r = this.last;
        if (!r) return;
        o.observe(r.desired, { state: 'desired' });
        o.observe(r.programmed, { state: 'programmed' });
        o.observe(r.waitingForInterface.length, { state: 'waiting' });
        o.observe(r.conflicts.length, { state: 'conflict' });
      });
  }
}

/** Creates the dataplane; call apply()/replace() with the view, then start(). */
export function createLinuxDataplane(options: LinuxDataplaneOptions): LinuxDataplane {
  return new LinuxDataplane(options);
}
