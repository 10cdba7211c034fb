// Gathers the cluster's state from the APIs that already exist, never from a private channel:
// - the datastore's Watch (one stream: a snapshot, then every change) for the nodes and the feed
//   of recent changes, resumed from its last revision when the stream breaks;
// - the datastore's IpamShow for pool usage, each reflector's admin API (GetStatus, ListPeers)
//   for sessions, and the services' Prometheus /metrics for agents and sync servers, polled.
// A source that fails is shown with its error; the others keep updating.
import { request } from 'node:http';
import type { Logger } from '../../shared/log/index.js';
import {
  createDatastoreClient,
  type DatastoreClient,
  type ResourceObject,
} from '../../shared/datastore-client/index.js';
import { createRrAdminClient, type RrAdminClient } from '../../rr/index.js';
import { bucketDelta, bucketsOf, histogramQuantile, parsePrometheusText, sumOf, type Scrape } from './prom-text.js';
import type {
  AgentView,
  ChangeView,
  DashboardState,
  NodeView,
  PoolView,
  ReflectorView,
  SyncServerView,
} from './state.js';

export interface MetricsEndpoint {
  /** The node name for an agent, a label for the others; defaults to HOST:PORT. */
  name: string;
  url: string;
}

export interface CollectorOptions {
  datastore: string;
  reflectors: readonly string[];
  metrics: readonly MetricsEndpoint[];
  intervalMs: number;
  /** Credentials directory for mutual TLS to the datastore and the reflectors; absent: plain text. */
  credentials?: string;
  log: Logger;
}

/** Changes kept for the feed. */
const CHANGES_KEPT = 50;
/** Scrapes kept per endpoint: fan-out latency is read over this many intervals. */
const WINDOW = 15;
const SCRAPE_TIMEOUT_MS = 3000;

/** `[NAME=]http://host:port/metrics` → endpoint; throws naming the field on anything else. */
export function parseMetricsEndpoint(text: string): MetricsEndpoint {
  const eq = text.indexOf('=');
  const [name, url] =
    eq > 0 && !text.slice(0, eq).includes('://') ? [text.slice(0, eq), text.slice(eq + 1)] : ['', text];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`metrics: '${text}' is not [NAME=]http://HOST:PORT/metrics`);
  }
  if (parsed.protocol !== 'http:') throw new Error(`metrics: '${text}' must be an http:// URL`);
  return { name: name || parsed.host, url: parsed.href };
}

function scrape(url: string): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: SCRAPE_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        try {
          resolve(parsePrometheusText(body));
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${SCRAPE_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

interface EndpointState {
  endpoint: MetricsEndpoint;
  /** Recent scrapes, oldest first. */
  history: Scrape[];
  error?: string;
}

interface NodeRecord {
  name: string;
  resource: ResourceObject;
}

function errorText(err: unknown): string {
  return (err as Error)?.message?.split('\n')[0] ?? String(err);
}

export class Collector {
  private readonly client: DatastoreClient;
  private readonly admins: RrAdminClient[];
  private readonly endpoints: EndpointState[];
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly kinds = new Map<string, Set<string>>();
  private readonly changes: ChangeView[] = [];
  private reflectors: ReflectorView[] = [];
  private pools: PoolView[] = [];
  private blocksByNode = new Map<string, string[]>();
  private revision = 0;
  private watching = false;
  private datastoreError: string | undefined;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();
  private polling: Promise<void> | undefined;
  private watchLoop: Promise<void> | undefined;

  constructor(private readonly options: CollectorOptions) {
    this.client = createDatastoreClient(options.datastore, {
      deadlineMs: 5000,
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
    this.admins = options.reflectors.map((a) =>
      createRrAdminClient(a, {
        deadlineMs: 3000,
        ...(options.credentials ? { credentials: options.credentials } : {}),
      }),
    );
    this.endpoints = options.metrics.map((endpoint) => ({ endpoint, history: [] }));
  }

  /** Calls `listener` after anything changed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.watchLoop = this.watchForever();
    const tick = () => {
      this.polling = this.pollOnce().finally(() => {
        if (!this.abort.signal.aborted) this.timer = setTimeout(tick, this.options.intervalMs);
      });
    };
    tick();
  }

  async close(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.timer);
    await Promise.allSettled([this.polling, this.watchLoop]);
    this.client.close();
    for (const a of this.admins) a.close();
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  private async watchForever(): Promise<void> {
    const signal = this.abort.signal;
    let backoff = 250;
    while (!signal.aborted) {
      try {
        // A resumed watch replays what happened meanwhile: those are changes for the feed.
        let inSnapshot = this.revision === 0;
        for await (const ev of this.client.watch({ revision: this.revision, signal })) {
          backoff = 250;
          this.datastoreError = undefined;
          if (ev.type === 'snapshot-begin') {
            inSnapshot = true;
            this.nodes.clear();
            this.kinds.clear();
            continue;
          }
          if (ev.type === 'in-sync') {
            inSnapshot = false;
            this.watching = true;
            this.revision = Math.max(this.revision, ev.revision);
            this.changed();
            continue;
          }
          this.revision = Math.max(this.revision, ev.revision);
          const key = ev.namespace ? `${ev.namespace}/${ev.name}` : ev.name;
          const names = this.kinds.get(ev.kind) ?? new Set<string>();
          this.kinds.set(ev.kind, names);
          if (ev.type === 'put') names.add(key);
          else names.delete(key);
          if (ev.kind === 'Node') {
            if (ev.type === 'put') this.nodes.set(ev.name, { name: ev.name, resource: ev.resource });
            else this.nodes.delete(ev.name);
          }
          if (!inSnapshot) {
            this.changes.unshift({
              at: Date.now(),
              revision: ev.revision,
              type: ev.type,
              kind: ev.kind,
              namespace: ev.namespace,
              name: ev.name,
            });
            this.changes.length = Math.min(this.changes.length, CHANGES_KEPT);
            this.changed();
          }
        }
        if (signal.aborted) return;
        throw new Error('the datastore ended the watch');
      } catch (err) {
        if (signal.aborted) return;
        this.watching = false;
        this.datastoreError = errorText(err);
        // Resuming after a compaction fails; start over with a snapshot then.
        if (/compact/i.test(this.datastoreError)) this.revision = 0;
        this.options.log.warn(
          { datastore: this.options.datastore, err: this.datastoreError },
          'datastore watch broke; reconnecting',
        );
        this.changed();
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private async pollOnce(): Promise<void> {
    await Promise.all([this.pollIpam(), this.pollReflectors(), ...this.endpoints.map((e) => this.pollEndpoint(e))]);
    this.changed();
  }

  private async pollIpam(): Promise<void> {
    try {
      const ipam = await this.client.ipamShow();
      this.pools = ipam.pools.map((p) => ({
        name: p.name,
        cidr: p.cidr,
        blockSize: p.blockSize,
        disabled: p.disabled,
        blocksTotal: p.blocksTotal,
        blocksAllocated: Number(p.blocksAllocated),
        addressesTotal: p.addressesTotal,
        addressesInUse: Number(p.addressesInUse),
      }));
      const byNode = new Map<string, string[]>();
      for (const b of ipam.blocks) {
        if (!b.node) continue;
        const list = byNode.get(b.node) ?? [];
        list.push(b.cidr);
        byNode.set(b.node, list);
      }
      this.blocksByNode = byNode;
    } catch (err) {
      this.datastoreError = `IpamShow: ${errorText(err)}`;
    }
  }

  private async pollReflectors(): Promise<void> {
    this.reflectors = await Promise.all(
      this.admins.map(async (admin): Promise<ReflectorView> => {
        try {
          const [status, peers] = await Promise.all([admin.status(), admin.peers()]);
          return {
            admin: admin.address,
            routerId: status.routerId,
            asNumber: status.asNumber,
            clusterId: status.clusterId,
            prefixes: Number(status.prefixes),
            paths: Number(status.paths),
            restarting: status.restarting,
            peers: peers.peers.map((p) => ({
              address: p.address,
              asNumber: p.asNumber,
              type: p.type,
              state: p.state,
              info: p.info,
              description: p.description,
              establishedAtMs: Number(p.establishedAtMs),
              prefixesReceived: Number(p.prefixesReceived),
              prefixesAccepted: Number(p.prefixesAccepted),
              prefixesSent: Number(p.prefixesSent),
              flaps: p.flaps,
            })),
          };
        } catch (err) {
          return {
            admin: admin.address,
            routerId: '',
            asNumber: 0,
            clusterId: '',
            prefixes: 0,
            paths: 0,
            restarting: false,
            peers: [],
            error: errorText(err),
          };
        }
      }),
    );
  }

  private async pollEndpoint(e: EndpointState): Promise<void> {
    try {
      e.history.push(await scrape(e.endpoint.url));
      if (e.history.length > WINDOW) e.history.shift();
      e.error = undefined;
    } catch (err) {
      e.error = errorText(err);
    }
  }

  /** The current picture, built on demand (the page asks at most once per push interval). */
  snapshot(): DashboardState {
    const agents = new Map<string, AgentView>();
    const syncServers: SyncServerView[] = [];
    let requests: number | null = null;
    let errors: number | null = null;
    for (const e of this.endpoints) {
      const last = e.history[e.history.length - 1];
      const first = e.history[0];
      const error = e.error ? { error: e.error } : {};
      if (!last) {
        // Never reached: list it where its name suggests, so the operator sees the failure.
        if (/sync/i.test(e.endpoint.name)) syncServers.push(emptySync(e.endpoint, e.error ?? 'not scraped yet'));
        else if (!/datastore|rr|reflector/i.test(e.endpoint.name))
          agents.set(e.endpoint.name, {
            endpoint: e.endpoint.url,
            inSync: false,
            revision: 0,
            lag: null,
            entries: 0,
            error: e.error ?? 'not scraped yet',
          });
        continue;
      }
      if (last.has('meshless_agent_in_sync')) {
        const revision = sumOf(last, 'meshless_agent_revision') ?? 0;
        agents.set(e.endpoint.name, {
          endpoint: e.endpoint.url,
          inSync: sumOf(last, 'meshless_agent_in_sync') === 1,
          revision,
          lag: this.watching ? Math.max(0, this.revision - revision) : null,
          entries: sumOf(last, 'meshless_agent_entries') ?? 0,
          ...error,
        });
      } else if (last.has('meshless_sync_streams') || last.has('meshless_sync_revision')) {
        // Change batches only (kind="deltas"; pings are fanned out too). Over the recent window
        // when changes flowed in it, else since the server started.
        const want = { kind: 'deltas' };
        const all = bucketsOf(last, 'meshless_sync_fanout_seconds', want);
        const recent = bucketDelta(all, first === last ? [] : bucketsOf(first!, 'meshless_sync_fanout_seconds', want));
        const batches = recent.length ? recent[recent.length - 1]![1] : 0;
        const delta = batches > 0 ? recent : all;
        syncServers.push({
          name: e.endpoint.name,
          endpoint: e.endpoint.url,
          streams: sumOf(last, 'meshless_sync_streams') ?? 0,
          agents: sumOf(last, 'meshless_sync_connections', { syncer: 'agent' }) ?? 0,
          reflectors: sumOf(last, 'meshless_sync_connections', { syncer: 'bgp' }) ?? 0,
          revision: sumOf(last, 'meshless_sync_revision') ?? 0,
          cacheEntries: sumOf(last, 'meshless_sync_cache_entries') ?? 0,
          fanoutP50: histogramQuantile(0.5, delta) ?? null,
          fanoutP99: histogramQuantile(0.99, delta) ?? null,
          fanoutBatches: batches,
          fanoutWindow: batches > 0 ? 'recent' : 'since start',
          rejected: sumOf(last, 'meshless_sync_connections_rejected_total') ?? 0,
          ...error,
        });
      } else if (last.has('meshless_datastore_requests_total')) {
        requests = sumOf(last, 'meshless_datastore_requests_total') ?? 0;
        errors = 0;
        for (const s of last.get('meshless_datastore_requests_total') ?? []) {
          // Client mistakes (NOT_FOUND, INVALID_ARGUMENT, ...) are answers, not datastore errors.
          if (
            ['INTERNAL', 'UNAVAILABLE', 'UNKNOWN', 'DEADLINE_EXCEEDED', 'DATA_LOSS', 'RESOURCE_EXHAUSTED'].includes(
              s.labels.code ?? '',
            )
          )
            errors += s.value;
        }
      }
    }
    const nodes: NodeView[] = [...this.nodes.values()].map(({ name, resource }) => {
      const bgp = ((resource.spec as { bgp?: Record<string, unknown> } | undefined)?.bgp ?? {}) as Record<
        string,
        unknown
      >;
      const view: NodeView = {
        name,
        role: bgp.routeReflectorClusterID ? 'reflector' : 'node',
        address: String(bgp.ipv4Address ?? bgp.ipv6Address ?? ''),
        asNumber: bgp.asNumber === undefined ? '' : String(bgp.asNumber),
        blocks: this.blocksByNode.get(name) ?? [],
      };
      const agent = agents.get(name);
      if (agent) view.agent = agent;
      agents.delete(name);
      return view;
    });
    // Agents whose node is not (or no longer) in the datastore still deserve a row.
    for (const [name, agent] of agents)
      nodes.push({ name, role: 'node', address: '', asNumber: '', blocks: [], agent });
    nodes.sort((a, b) => a.name.localeCompare(b.name));
    const kinds: Record<string, number> = {};
    for (const [k, names] of [...this.kinds.entries()].sort((a, b) => a[0].localeCompare(b[0]))) kinds[k] = names.size;
    return {
      generatedAt: Date.now(),
      datastore: {
        address: this.options.datastore,
        watching: this.watching,
        revision: this.revision,
        kinds,
        requests,
        errors,
        ...(this.datastoreError ? { error: this.datastoreError } : {}),
      },
      nodes,
      syncServers,
      reflectors: this.reflectors,
      pools: this.pools,
      changes: [...this.changes],
    };
  }
}

function emptySync(endpoint: MetricsEndpoint, error: string): SyncServerView {
  return {
    name: endpoint.name,
    endpoint: endpoint.url,
    streams: 0,
    agents: 0,
    reflectors: 0,
    revision: 0,
    cacheEntries: 0,
    fanoutP50: null,
    fanoutP99: null,
    fanoutBatches: 0,
    fanoutWindow: 'since start',
    rejected: 0,
    error,
  };
}
