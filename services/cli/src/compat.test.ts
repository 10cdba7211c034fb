// calicoctl compatibility of the CLI against a real datastore on a real nats-server: unchanged
// applies, delete -f by identity, warnings, patch, label, get -f / custom-columns / go-template,
// create --skip-exists, -R, version, ipam configure, datastore export/import of every kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { calicoPriorityNote } from './commands/bgp.js';
import { mergePatch } from './commands/patch.js';
import { cli, cliSuite, fails, ok, REPO_ROOT } from './testing.js';

const suite = cliSuite('compat');
const { meshless, withStdin, file } = suite;

const pool = (name: string, cidr: string, extra = '') =>
  `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ${name}}\nspec: {cidr: ${cidr}${extra}}\n`;
const rv = async (kind: string, name: string) =>
  (JSON.parse(ok(await meshless('get', kind, name, '-o', 'json'))) as { metadata: { resourceVersion: string } })
    .metadata.resourceVersion;

test('apply of unchanged documents writes nothing and says so', async () => {
  const text = pool('u-1', '10.31.0.0/16') + '---\n' + pool('u-2', '10.32.0.0/16');
  ok(await withStdin(text, 'apply', '-f', '-'), "Successfully applied 2 'IPPool' resource(s)\n");
  const before = await rv('ippool', 'u-1');
  ok(await withStdin(text, 'apply', '-f', '-'), "Successfully applied 2 'IPPool' resource(s) (2 unchanged)\n");
  // Defaults filled in by validation are part of the comparison: spelling them out changes nothing.
  ok(
    await withStdin(pool('u-1', '10.31.0.0/16', ', blockSize: 26, ipipMode: Never'), 'apply', '-f', '-'),
    "Successfully applied 1 'IPPool' resource(s) (1 unchanged)\n",
  );
  assert.equal(await rv('ippool', 'u-1'), before, 'the revision did not move');
  ok(
    await withStdin(
      pool('u-1', '10.31.0.0/16', ', natOutgoing: true') + '---\n' + pool('u-2', '10.32.0.0/16'),
      'apply',
      '-f',
      '-',
    ),
    "Successfully applied 2 'IPPool' resource(s) (1 unchanged)\n",
  );
  assert.notEqual(await rv('ippool', 'u-1'), before);
});

test('delete -f needs only kind, name and namespace; create --skip-exists; -R reads subdirectories', async () => {
  ok(await withStdin(pool('d-1', '10.33.0.0/16'), 'apply', '-f', '-'));
  // A document that no longer validates (spec from another version) still deletes what it names.
  ok(
    await withStdin(
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: d-1}\nspec: {cidr: 10.33.0.0/16, futureField: 1}\n',
      'delete',
      '-f',
      '-',
    ),
    "Successfully deleted 1 'IPPool' resource(s)\n",
  );
  fails(await withStdin('kind: IPPool\nspec: {}\n', 'delete', '-f', '-'), /metadata\.name: is required/);

  const dir = join(suite.scratch, 'tree');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'a.yaml'), pool('r-1', '10.34.0.0/16'));
  writeFileSync(join(dir, 'sub', 'b.yaml'), pool('r-2', '10.35.0.0/16'));
  ok(await meshless('create', '-f', dir), "Successfully created 1 'IPPool' resource(s)\n");
  fails(await meshless('create', '-R', '-f', dir), /resource already exists: IPPool\(r-1\)/);
  ok(
    await meshless('create', '-R', '--skip-exists', '-f', dir),
    "Successfully created 2 'IPPool' resource(s) (1 skipped: already exist)\n",
  );
  ok(await meshless('delete', '-R', '-f', dir), "Successfully deleted 2 'IPPool' resource(s)\n");
});

test('a BGPPeer Calico accepts but that cannot peer is applied with a warning naming the field', async () => {
  const r = await withStdin(
    'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: w-1}\nspec: {node: n1, ttlSecurity: 1}\n',
    'apply',
    '-f',
    '-',
  );
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "Successfully applied 1 'BGPPeer' resource(s)\n");
  assert.match(
    r.stderr,
    /^Warning: - document 1 \(BGPPeer 'w-1'\): spec\.peerIP: neither peerIP, peerSelector nor localWorkloadSelector is set/,
  );
  ok(await meshless('delete', 'bgppeer', 'w-1'));
});

test('patch: a JSON or YAML merge patch, validated; label: set, overwrite, remove', async () => {
  assert.deepEqual(mergePatch({ a: { b: 1, c: 2 }, d: [1] }, { a: { b: null, e: 3 }, d: [2] }), {
    a: { c: 2, e: 3 },
    d: [2],
  });
  ok(await withStdin(pool('p-1', '10.36.0.0/16'), 'apply', '-f', '-'));
  ok(
    await meshless('patch', 'ippool', 'p-1', '-p', '{"spec":{"natOutgoing":true}}'),
    "Successfully patched 1 'IPPool' resource\n",
  );
  ok(
    await meshless('patch', 'ipp', 'p-1', '-p', 'spec: {disabled: true}'),
    "Successfully patched 1 'IPPool' resource\n",
  );
  const got = JSON.parse(ok(await meshless('get', 'ippool', 'p-1', '-o', 'json'))) as { spec: Record<string, unknown> };
  assert.deepEqual([got.spec.natOutgoing, got.spec.disabled, got.spec.cidr], [true, true, '10.36.0.0/16']);
  fails(
    await meshless('patch', 'ippool', 'p-1', '-p', '{"spec":{"blockSize":40}}'),
    /failed to patch 'IPPool' resource: .*spec\.blockSize: 40 is out of range/,
  );
  fails(await meshless('patch', 'ippool', 'missing', '-p', '{}'), /resource does not exist: IPPool\(missing\)/);

  ok(await meshless('label', 'ippools', 'p-1', 'rack=r1'), 'Successfully set label rack on ippools p-1\n');
  fails(await meshless('label', 'ippools', 'p-1', 'rack=r2'), /key rack is already present, use --overwrite/);
  ok(
    await meshless('label', 'ippools', 'p-1', 'rack=r2', '--overwrite'),
    'Successfully set label rack on ippools p-1\n',
  );
  assert.match(ok(await meshless('get', 'ippools', '-l', 'rack=r2')), /^NAME\s+CIDR\s+SELECTOR\np-1 /);
  ok(
    await meshless('label', 'ippools', 'p-1', 'rack', '--remove'),
    'Successfully removed label rack from ippools p-1\n',
  );
  fails(await meshless('label', 'ippools', 'p-1', 'rack', '--remove'), /label rack is not present/);
  fails(await meshless('label', 'ippools', 'p-1', 'bad key=x'), /invalid label key/);
  ok(await meshless('delete', 'ippool', 'p-1'));
});

test('get -f, -o custom-columns and -o go-template', async () => {
  const f = file('g.yaml', pool('g-1', '10.37.0.0/16') + '---\n' + pool('g-2', '10.38.0.0/16'));
  ok(await meshless('apply', '-f', f));
  ok(
    await meshless('get', '-f', f),
    'NAME   CIDR           SELECTOR\ng-1    10.37.0.0/16   all()\ng-2    10.38.0.0/16   all()\n\n',
  );
  ok(
    await meshless(
      'get',
      'ippools',
      'g-1',
      '-o',
      'custom-columns=NAME:.metadata.name,CIDR:.spec.cidr,USES:.spec.allowedUses[*],X:.spec.nothing',
    ),
    'NAME   CIDR           USES              X\ng-1    10.37.0.0/16   Workload,Tunnel   <none>\n',
  );
  ok(
    await meshless(
      'get',
      '-f',
      f,
      '-o',
      'go-template={{range .items}}{{.metadata.name}} {{.spec.cidr}}{{"\\n"}}{{end}}',
    ),
    'g-1 10.37.0.0/16\ng-2 10.38.0.0/16\n',
  );
  ok(
    await meshless(
      'get',
      'ippool',
      'g-2',
      '-o',
      'go-template={{if .spec.natOutgoing}}nat{{else}}no-nat{{end}} {{len .spec.allowedUses}}',
    ),
    'no-nat 2',
  );
  const plain = JSON.parse(ok(await meshless('get', 'ippool', 'g-1', '-o', 'json', '--export'))) as {
    metadata: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(plain.metadata), ['name']);
  fails(
    await meshless('get', 'ippools', '-o', 'go-template={{range .items}}'),
    /go-template: \{\{range\}\} at character 1 has no \{\{end\}\}/,
  );
  fails(await meshless('get', 'ippools', '-o', 'custom-columns=NAME'), /custom-columns: 'NAME' is not HEADING:\.path/);
  ok(await meshless('delete', '-f', f));
});

test('version, ipam configure', async () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  ok(await cli(['version', '--client']), `Client Version:    v${pkg.version}\n`);
  ok(
    await withStdin(
      'apiVersion: projectcalico.org/v3\nkind: ClusterInformation\nmetadata: {name: default}\nspec: {calicoVersion: v3.28.0, clusterType: "k8s,bgp"}\n',
      'apply',
      '-f',
      '-',
    ),
  );
  assert.match(
    ok(await meshless('version')),
    new RegExp(
      `^Client Version:    v${pkg.version}\nCluster Version:   v3\\.28\\.0\nCluster Type:      k8s,bgp\nDatastore:         ${suite.cluster.address.replace(/\./g, '\\.')} \\(revision \\d+\\)\n$`,
    ),
  );
  ok(await meshless('ipam', 'configure', '--strictaffinity=true'), 'Successfully set StrictAffinity to: true\n');
  const cfg = JSON.parse(ok(await meshless('get', 'ipamconfig', 'default', '-o', 'json'))) as {
    spec: Record<string, unknown>;
  };
  assert.deepEqual(cfg.spec, { strictAffinity: true, autoAllocateBlocks: true });
  fails(await meshless('ipam', 'configure', '--strictaffinity=maybe'), /invalid --strictaffinity 'maybe'/);
});

test('bgp routes names the Calico route priority behind a LOCAL_PREF; rr reads its own --datastore', async () => {
  assert.equal(calicoPriorityNote(2147483647 - 1024), ' (Calico route priority 1024)');
  assert.equal(calicoPriorityNote(100), '');
  const r = await cli(['rr', '--node', 'n', '--sync', '127.0.0.1:1', '--datastore', 'not-an-address']);
  assert.equal(r.stderr, "meshless: rr: --datastore must be HOST:PORT or none, got 'not-an-address'\n");
});

test('datastore import of a Calico export (every kind), then export → import changes nothing', async () => {
  const calico = readFileSync(join(REPO_ROOT, 'services/shared/resources/testdata/calico-export.yaml'), 'utf8');
  const imported = await withStdin(calico, 'datastore', 'import', '-');
  assert.equal(imported.code, 0, imported.stderr);
  // The two peers Calico accepts are imported, each with its warning.
  assert.deepEqual(
    imported.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => /\((BGPPeer '[^']+')\): (spec\.\w+)/.exec(l)!.slice(1).join(' ')),
    ["BGPPeer 'node-ttl-only' spec.peerIP", "BGPPeer 'tor-ibgp' spec.asNumber"],
  );
  const first = imported.stdout;
  assert.match(first, /^BGPConfiguration\(default\): created$/m);
  assert.match(first, /Imported 6 resource\(s\): \d+ created, \d+ updated, 0 unchanged, 0 failed\n$/);
  // Dependency order: configuration before nodes before peers and policies.
  const order = first.split('\n').map((l) => l.split('(')[0]);
  assert.ok(
    order.indexOf('FelixConfiguration') < order.indexOf('Node') &&
      order.indexOf('Node') < order.indexOf('BGPPeer') &&
      order.indexOf('BGPPeer') < order.indexOf('GlobalNetworkPolicy'),
    first,
  );
  ok(await meshless('apply', '-f', join(REPO_ROOT, 'examples')));

  const exported = (await meshless('datastore', 'export')).stdout;
  const docs = parseAllDocuments(exported).map((d) => d.toJS() as { kind: string; metadata: Record<string, unknown> });
  const kinds = new Set(docs.map((d) => d.kind));
  for (const k of [
    'BGPFilter',
    'FelixConfiguration',
    'GlobalNetworkSet',
    'NetworkSet',
    'KubeControllersConfiguration',
    'IPReservation',
    'Tier',
    'StagedNetworkPolicy',
    'StagedGlobalNetworkPolicy',
    'StagedKubernetesNetworkPolicy',
    'ClusterInformation',
    'CalicoNodeStatus',
    'IPAMConfiguration',
    'IPPool',
    'Node',
    'BGPPeer',
    'BGPConfiguration',
  ]) {
    assert.ok(kinds.has(k), `export has ${k}`);
  }
  assert.ok(
    docs.every((d) => d.metadata.resourceVersion === undefined && d.metadata.uid === undefined),
    'no server-owned metadata',
  );
  const again = (await withStdin(exported, 'datastore', 'import', '-')).stdout;
  assert.match(
    again,
    new RegExp(`Imported ${docs.length} resource\\(s\\): 0 created, 0 updated, ${docs.length} unchanged, 0 failed\\n$`),
  );
  assert.equal(ok(await meshless('datastore', 'export')), exported, 'export → import → export is stable');

  const bad = await withStdin(
    pool('x-1', '10.40.0.0/16') + '---\n' + pool('x-2', '10.40.0.0/17'),
    'datastore',
    'import',
    '-',
  );
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /IPPool\(x-1\): created\nIPPool\(x-2\): failed: - document 2: .*overlaps/);
  assert.equal(bad.stderr, 'meshless: 1 of 2 resource(s) failed to import\n');
});

test('cluster diags bundles versions, every resource and IPAM into one .tar.gz', async () => {
  ok(await withStdin(pool('diags-pool', '10.93.0.0/24'), 'apply', '-f', '-'));
  const output = join(suite.scratch, 'diags.tar.gz');
  const r = await meshless('cluster', 'diags', '-o', output);
  assert.match(
    ok(r),
    /^Diagnostics written to .*diags\.tar\.gz \(\d+ kinds listed, \d+ with resources, revision \d+\)\n$/,
  );
  const { execFileSync } = await import('node:child_process');
  const files = execFileSync('tar', ['-tzf', output], { encoding: 'utf8' }).split('\n');
  for (const f of [
    'meshless-diagnostics/version.txt',
    'meshless-diagnostics/resources/IPPool.yaml',
    'meshless-diagnostics/ipam/show.txt',
    'meshless-diagnostics/ipam/check.txt',
  ]) {
    assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
  }
  const pools = execFileSync('tar', ['-xzOf', output, 'meshless-diagnostics/resources/IPPool.yaml'], {
    encoding: 'utf8',
  });
  assert.match(pools, /name: diags-pool/);
  // A reflector that is not there is reported in errors.txt; the rest is still collected.
  const partial = await meshless('cluster', 'diags', '-o', output, '--rr', '127.0.0.1:1', '--timeout', '1s');
  assert.match(ok(partial), /1 item\(s\) could not be collected, see errors\.txt/);
  fails(await meshless('cluster', 'diags', '--rr', 'nowhere'), /invalid --rr: must be HOST:PORT/);
});
