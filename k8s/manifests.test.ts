// Offline checks of the manifests (no cluster here): every file parses, the kustomization lists
// every manifest, and every workload follows the rules in k8s/README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const dir = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
type Obj = { kind: string; metadata: { name: string }; spec?: any };
const docs: Array<{ file: string; obj: Obj }> = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], `${file}: YAML errors`);
    return { file, obj: d.toJS() as Obj };
  }),
);
const workloads = docs.filter((d) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(d.obj.kind));

test('kustomization lists every manifest', () => {
  const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
  assert.deepEqual([...k.resources].sort(), [...files].sort());
});

test('every container has probes, requests and a memory limit', () => {
  assert.ok(workloads.length >= 4);
  for (const { file, obj } of workloads) {
    for (const c of obj.spec.template.spec.containers) {
      const where = `${file} ${obj.kind}/${obj.metadata.name} container ${c.name}`;
      assert.ok(c.livenessProbe, `${where}: livenessProbe`);
      assert.ok(c.readinessProbe, `${where}: readinessProbe`);
      assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${where}: requests`);
      assert.ok(c.resources?.limits?.memory, `${where}: memory limit`);
    }
    assert.ok(obj.spec.template.spec.terminationGracePeriodSeconds >= 15, `${file}: terminationGracePeriodSeconds`);
  }
});

test('Deployments and StatefulSets have a PodDisruptionBudget selecting them', () => {
  const pdbs = docs.filter((d) => d.obj.kind === 'PodDisruptionBudget');
  for (const { obj } of workloads.filter((w) => w.obj.kind !== 'DaemonSet')) {
    const labels = obj.spec.template.metadata.labels;
    assert.ok(
      pdbs.some((p) => Object.entries(p.obj.spec.selector.matchLabels).every(([k, v]) => labels[k] === v)),
      `${obj.kind}/${obj.metadata.name} has no PodDisruptionBudget`,
    );
  }
});
