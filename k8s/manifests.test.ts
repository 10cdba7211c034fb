// Offline checks of the manifests (no cluster here): every file parses, the kustomization lists
// every manifest, and every workload follows the rules in k8s/README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
  const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as {
    resources: string[];
  };
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

test('every meshless command and flag the manifests use exists in the CLI', async () => {
  const { buildProgram, CliContext, COMMANDS } = await import('../services/cli/index.js');
  const { Readable } = await import('node:stream');
  const sink = { write: () => true };
  const program = buildProgram(
    new CliContext({ stdout: sink, stderr: sink, stdin: Readable.from([]), env: {} }),
    COMMANDS,
  );
  type Cmd = typeof program;
  const longNames = (c: Cmd) => c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x));
  let checked = 0;
  for (const { file, obj } of workloads) {
    const pod = obj.spec.template.spec;
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      if (c.image !== 'meshless' || !Array.isArray(c.args)) continue;
      const where = `${file} ${obj.kind}/${obj.metadata.name} container ${c.name}`;
      let cmd: Cmd = program;
      const chain: Cmd[] = [program];
      for (const arg of c.args as string[]) {
        if (arg.startsWith('-')) {
          const flag = arg.split('=')[0]!;
          assert.ok(
            chain.some((x) => longNames(x).includes(flag)),
            `${where}: \`meshless ${cmd.name()}\` has no flag ${flag}`,
          );
          checked++;
          continue;
        }
        const sub = cmd.commands.find((x) => x.name() === arg || x.aliases().includes(arg));
        if (sub && chain.length <= c.args.indexOf(arg) + 1) {
          cmd = sub;
          chain.push(sub);
        }
      }
      assert.ok(chain.length > 1, `${where}: '${c.args[0]}' is not a meshless command`);
      checked++;
    }
  }
  assert.ok(checked >= 5);
});

test('kubectl kustomize k8s/ renders every object', {
  skip:
    spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0
      ? undefined
      : 'kubectl is not installed (infra/install.sh installs kubernetes-client)',
}, () => {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const kinds = parseAllDocuments(r.stdout).map((d) => (d.toJS() as Obj).kind);
  assert.equal(kinds.length, docs.length);
});

test('every object validates against the Kubernetes schemas (kubernetes-models)', async () => {
  for (const { file, obj } of docs) {
    const apiVersion = (obj as unknown as { apiVersion: string }).apiVersion;
    // kubernetes-models lays its classes out as <group>/<version>/<Kind> ("v1" for the core group).
    const mod = (await import(`kubernetes-models/${apiVersion}/${obj.kind}`)) as Record<
      string,
      new (
        o: unknown,
      ) => { validate(): void }
    >;
    const Model = mod[obj.kind] ?? mod.default;
    assert.ok(Model, `${file}: no schema for ${apiVersion} ${obj.kind}`);
    try {
      new Model(obj).validate();
    } catch (err) {
      assert.fail(`${file} ${obj.kind}/${obj.metadata.name}: ${(err as Error).message}`);
    }
  }
});
