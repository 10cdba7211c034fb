// The dashboard's own /metrics: what it learns from the datastore's API and no service exports as a
// metric, in the manner of kube-state-metrics: IPAM usage per pool (from IpamShow, which is a KV
// listing: polled here once per interval instead of on every Prometheus scrape of every datastore
// replica), and whether each source it reads answers. The IPAM-pool-nearly-full alert
// (k8s/observability/) reads these. Written by hand: a handful of gauges, no SDK needed.
import type { DashboardState } from './state.js';

interface Gauge {
  name: string;
  help: string;
  samples: Array<[labels: Record<string, string>, value: number]>;
}

// Exposition format: label values escape backslash, double quote and newline.
const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function render(gauges: Gauge[]): string {
  let out = '';
  for (const g of gauges) {
    out += `# HELP ${g.name} ${g.help}\n# TYPE ${g.name} gauge\n`;
    for (const [labels, value] of g.samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${escape(v)}"`)
        .join(',');
      out += `${g.name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 'NaN'}\n`;
    }
  }
  return out;
}

export function exposition(s: DashboardState): string {
  const pool = (name: string, help: string, value: (p: DashboardState['pools'][number]) => number): Gauge => ({
    name,
    help,
    samples: s.pools.map((p) => [{ pool: p.name, cidr: p.cidr }, value(p)]),
  });
  const up: Gauge['samples'] = [
    [{ source: 'datastore', target: s.datastore.address }, s.datastore.watching && !s.datastore.error ? 1 : 0],
    ...s.reflectors.map((r): [Record<string, string>, number] => [{ source: 'rr', target: r.admin }, r.error ? 0 : 1]),
    ...s.syncServers.map((x): [Record<string, string>, number] => [
      { source: 'metrics', target: x.endpoint },
      x.error ? 0 : 1,
    ]),
    ...s.nodes.flatMap(
      (n): Array<[Record<string, string>, number]> =>
        n.agent ? [[{ source: 'metrics', target: n.agent.endpoint }, n.agent.error ? 0 : 1]] : [],
    ),
  ];
  return render([
    pool('meshless_ipam_pool_blocks', 'IPAM blocks that fit in the pool', (p) => p.blocksTotal),
    pool('meshless_ipam_pool_blocks_allocated', 'IPAM blocks allocated in the pool', (p) => p.blocksAllocated),
    pool('meshless_ipam_pool_addresses', 'addresses in the pool', (p) => p.addressesTotal),
    pool(
      'meshless_ipam_pool_addresses_in_use',
      "addresses allocated inside the pool's blocks",
      (p) => p.addressesInUse,
    ),
    {
      name: 'meshless_ipam_pool_disabled',
      help: '1 when the pool is disabled (no new blocks)',
      samples: s.pools.map((p) => [{ pool: p.name, cidr: p.cidr }, p.disabled ? 1 : 0]),
    },
    {
      name: 'meshless_dashboard_source_up',
      help: "1 when the dashboard's last read of the source succeeded",
      samples: up,
    },
  ]);
}
