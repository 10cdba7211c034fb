// Offline checks of the observability files: the alert rules pass `promtool check rules` and their
// unit tests (`promtool test rules`, Debian's prometheus package); the PrometheusRule carries the
// same groups; every Grafana query is valid PromQL; every metric the rules and the dashboard use is
// one a service exports (so a renamed metric fails here, not silently in Grafana); the PodMonitor
// selects every Meshless workload by a port it has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';

const dir = dirname(fileURLToPath(import.meta.url));
const root = join(dir, '../..');
const run = promisify(execFile);
const PROMTOOL = process.env.MESHLESS_PROMTOOL ?? 'promtool';
const promtoolMissing = (() => {
  for (const p of (process.env.PATH ?? '').split(':')) if (p && existsSync(join(p, PROMTOOL))) return undefined;
  return existsSync(PROMTOOL) ? undefined : 'promtool not found (apt-get install prometheus, or bash infra/install.sh)';
})();

type Rule = { alert?: string; record?: string; expr: string };
const rules = parse(readFileSync(join(dir, 'meshless-rules.yaml'), 'utf8')) as {
  groups: Array<{ name: string; rules: Rule[] }>;
};
const grafana = JSON.parse(readFileSync(join(dir, 'grafana-dashboard.json'), 'utf8')) as {
  uid: string;
  panels: Array<{
    id: number;
    type: string;
    title: string;
    gridPos: { x: number; w: number };
    targets?: Array<{ expr: string }>;
  }>;
};
const grafanaExprs = grafana.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** `a_{b,c}_d` → a_b_d, a_c_d (the README's shorthand). */
function expandBraces(name: string): string[] {
  const m = /\{([^{}]*)\}/.exec(name);
  if (!m) return [name];
  return m[1]!
    .split(',')
    .flatMap((alt) => expandBraces(name.slice(0, m.index) + alt + name.slice(m.index + m[0].length)));
}

/**
 * The metrics the services export: every metric-like string literal in their sources (tests
 * excluded), and every series of the README's metrics reference (which also names those built
 * from templates, such as GoBGP's bgp_<direction>_<type>_total).
 */
function exportedMetricNames(): Set<string> {
  const names = new Set<string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (f === 'node_modules') continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.ts') && !f.endsWith('.test.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/['"`]((?:meshless|bgp|process|nodejs)_[a-z0-9_]+)['"`]/g))
          names.add(m[1]!);
      }
    }
  };
  walk(join(root, 'services'));
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const reference = readme.slice(readme.indexOf('## Metrics reference'));
  for (const line of reference.split('\n').filter((l) => l.startsWith('| `'))) {
    const series = line.split('|')[1]!;
    for (const m of series.matchAll(/`([a-z0-9_{},]+)`/g)) for (const n of expandBraces(m[1]!)) names.add(n);
  }
  return names;
}

function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:meshless|bgp|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) =>
    m[1]!.replace(/_(bucket|sum|count)$/, ''),
  );
}

test('promtool checks the rules and runs their unit tests', { skip: promtoolMissing }, async () => {
  const check = await run(PROMTOOL, ['check', 'rules', 'meshless-rules.yaml'], { cwd: dir });
  assert.match(check.stdout, /SUCCESS: \d+ rules found/);
  const unit = await run(PROMTOOL, ['test', 'rules', 'meshless-rules.test.yaml'], { cwd: dir });
  assert.match(unit.stdout, /SUCCESS/);
  // Every alert has a unit test.
  const tested = readFileSync(join(dir, 'meshless-rules.test.yaml'), 'utf8');
  for (const r of rules.groups.flatMap((g) => g.rules))
    assert.match(tested, new RegExp(`alertname: ${r.alert}\\b`), `${r.alert} has a test`);
});

test('the PrometheusRule carries exactly the groups of meshless-rules.yaml', () => {
  const cr = parse(readFileSync(join(dir, 'prometheus-rule.yaml'), 'utf8')) as {
    apiVersion: string;
    kind: string;
    spec: { groups: unknown };
  };
  assert.equal(cr.kind, 'PrometheusRule');
  assert.equal(cr.apiVersion, 'monitoring.coreos.com/v1');
  assert.deepEqual(cr.spec.groups, rules.groups);
});

test('every Grafana query is valid PromQL (checked by promtool as recording rules)', {
  skip: promtoolMissing,
}, async () => {
  assert.ok(grafanaExprs.length >= 20);
  const tmp = mkdtempSync(join(tmpdir(), 'meshless-grafana-'));
  try {
    const asRules = {
      groups: [
        {
          name: 'grafana',
          // Grafana's variables replaced by what they expand to.
          rules: grafanaExprs.map((e, i) => ({
            record: `grafana_query_${i}`,
            expr: e.expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*'),
          })),
        },
      ],
    };
    writeFileSync(join(tmp, 'grafana.yaml'), stringify(asRules));
    const res = await run(PROMTOOL, ['check', 'rules', join(tmp, 'grafana.yaml')]).catch(
      (err: { stdout?: string; stderr?: string }) => {
        throw new Error(`promtool rejected a Grafana query:\n${err.stdout}${err.stderr}`);
      },
    );
    assert.match(res.stdout, new RegExp(`SUCCESS: ${grafanaExprs.length} rules found`));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the rules and the Grafana dashboard use only metrics the services export', () => {
  const exported = exportedMetricNames();
  for (const r of rules.groups.flatMap((g) => g.rules)) {
    for (const name of metricsIn(r.expr))
      assert.ok(exported.has(name), `alert ${r.alert} uses ${name}, which no service exports`);
  }
  for (const { panel, expr } of grafanaExprs) {
    for (const name of metricsIn(expr))
      assert.ok(exported.has(name), `Grafana panel "${panel}" uses ${name}, which no service exports`);
  }
});

test('the Grafana dashboard is well formed: unique panel ids, within the 24-column grid, a query per panel', () => {
  assert.equal(grafana.uid, 'meshless-overview');
  const ids = grafana.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const p of grafana.panels) {
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the grid`);
    if (p.type !== 'row') assert.ok(p.targets?.length, `${p.title} has a query`);
  }
});

test('the PodMonitor selects every Meshless workload by a port the pods have', () => {
  const pm = parse(readFileSync(join(dir, 'podmonitor.yaml'), 'utf8')) as {
    kind: string;
    spec: {
      selector: { matchExpressions: Array<{ key: string; operator: string; values: string[] }> };
      podMetricsEndpoints: Array<{ port: string }>;
    };
  };
  assert.equal(pm.kind, 'PodMonitor');
  const selected = pm.spec.selector.matchExpressions.find(
    (e) => e.key === 'app.kubernetes.io/name' && e.operator === 'In',
  )!.values;
  const ports = new Set(pm.spec.podMetricsEndpoints.map((e) => e.port));
  const manifests = [
    ...readdirSync(root + '/k8s')
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(root, 'k8s', f)),
    join(dir, 'dashboard.yaml'),
  ];
  const workloads = manifests
    .flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as { kind: string; spec?: any }))
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
  const meshless = workloads.filter((w) =>
    String(w.spec.template.metadata.labels['app.kubernetes.io/name']).startsWith('meshless-'),
  );
  assert.ok(meshless.length >= 5, 'datastore, sync, agent, rr, dashboard');
  for (const w of meshless) {
    const name = w.spec.template.metadata.labels['app.kubernetes.io/name'] as string;
    assert.ok(selected.includes(name), `${name} is selected`);
    const podPorts = w.spec.template.spec.containers.flatMap((c: { ports?: Array<{ name: string }> }) =>
      (c.ports ?? []).map((p) => p.name),
    );
    assert.ok(
      podPorts.some((p: string) => ports.has(p)),
      `${name} has a port the PodMonitor scrapes (${podPorts.join(', ')})`,
    );
    const c = w.spec.template.spec.containers[0];
    assert.ok(c.livenessProbe && c.readinessProbe && c.resources?.limits?.memory, `${name}: probes and limits`);
  }
});
