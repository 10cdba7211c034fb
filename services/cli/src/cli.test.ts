// End to end: the `meshless` command against a real datastore service on a real nats-server.
// Most cases call run() in-process with captured output; a few run bin/meshless.mjs as a child
// process. Every failure is asserted as exit status 1 and exactly one `meshless: …` line on stderr.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createDatastoreClient } from '../../shared/datastore-client/index.js';
import { isNamespaced, type Kind, type Resource } from '../../shared/resources/index.js';
import { loadResources } from './load.js';
import { cli, cliSuite, fails, ok, REPO_ROOT } from './testing.js';

const suite = cliSuite('cli');
const { meshless, withStdin, file } = suite;

const V3 = 'projectcalico.org/v3';
const doc = (kind: string, metadata: object, spec: object) => JSON.stringify({ apiVersion: V3, kind, metadata, spec });
const pool = (name: string, cidr: string) =>
  `apiVersion: ${V3}\nkind: IPPool\nmetadata: {name: ${name}}\nspec: {cidr: ${cidr}}\n`;

/** The examples as the CLI loads them (validated, defaults filled in), by kind in file order. */
function exampleResources(): Map<Kind, Resource[]> {
  const dir = join(REPO_ROOT, 'examples');
  const sources = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
  const byKind = new Map<Kind, Resource[]>();
  for (const { resource } of loadResources(sources))
    byKind.set(resource.kind, [...(byKind.get(resource.kind) ?? []), resource]);
  return byKind;
}

const byName = (a: Resource, b: Resource) =>
  (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
  a.metadata.name.localeCompare(b.metadata.name);
const withoutServerFields = (r: Resource) => {
  const { uid: _u, creationTimestamp: _c, resourceVersion: _r, ...metadata } = r.metadata;
  return { ...r, metadata };
};

describe('every kind in examples/ round-trips: apply → get -o yaml → apply again → delete', () => {
  const examples = exampleResources();
  const total = [...examples.values()].reduce((n, l) => n + l.length, 0);

  test('apply -f examples/ applies every document, mixed kinds counted together', async () => {
    assert.ok(examples.size >= 8, `examples/ should cover most kinds, has ${[...examples.keys()]}`);
    ok(await meshless('apply', '-f', join(REPO_ROOT, 'examples')), `Successfully applied ${total} resource(s)\n`);
  });

  for (const [kind, expected] of examples) {
    test(`${kind}: get -o yaml returns what was applied; applying it again changes nothing; delete -f removes it`, async () => {
      const scope = isNamespaced(kind) ? ['-A'] : [];
      const first = ok(await meshless('get', kind.toLowerCase(), ...scope, '-o', 'yaml'));
      const list = parse(first) as { kind: string; items: Resource[] };
      assert.equal(list.kind, `${kind}List`);
      assert.deepEqual(list.items.map(withoutServerFields).sort(byName), [...expected].sort(byName));

      const saved = file(`${kind}.yaml`, first);
      ok(
        await meshless('apply', '-f', saved),
        `Successfully applied ${expected.length} '${kind}' resource(s) (${expected.length} unchanged)\n`,
      );
      const again = parse(ok(await meshless('get', kind, ...scope, '-o', 'yaml'))) as { items: Resource[] };
      const stable = (r: Resource) => ({ ...r, metadata: { ...r.metadata, resourceVersion: undefined } });
      assert.deepEqual(
        again.items.map(stable),
        list.items.map(stable),
        'apply of unchanged documents must keep them (uid and creationTimestamp too)',
      );

      ok(await meshless('delete', '-f', saved), `Successfully deleted ${expected.length} '${kind}' resource(s)\n`);
      const gone = JSON.parse(ok(await meshless('get', kind, ...scope, '-o', 'json'))) as { items: unknown[] };
      assert.deepEqual(gone.items, []);
    });
  }
});

test('LearnedRoute (written by the route reflectors, not in examples/) round-trips too', async () => {
  const route = doc(
    'LearnedRoute',
    { name: 'rr-0.10-0-1-1.192-168-0-0-24' },
    {
      prefix: '192.168.0.0/24',
      nextHop: '10.0.1.1',
      asPath: [65000, 65001],
      communities: ['65000:100'],
      learnedBy: 'rr-0',
      peer: '10.0.1.1',
    },
  );
  ok(await withStdin(route, 'apply', '-f', '-'), "Successfully applied 1 'LearnedRoute' resource(s)\n");
  ok(
    await meshless('get', 'routes', '-o', 'wide'),
    'NAME                           PREFIX           NEXTHOP    ASPATH        COMMUNITIES   PEER       LEARNEDBY\n' +
      'rr-0.10-0-1-1.192-168-0-0-24   192.168.0.0/24   10.0.1.1   65000 65001   65000:100     10.0.1.1   rr-0\n\n',
  );
  const saved = file(
    'route.yaml',
    ok(await meshless('get', 'learnedroute', 'rr-0.10-0-1-1.192-168-0-0-24', '-o', 'yaml')),
  );
  ok(await meshless('apply', '-f', saved), "Successfully applied 1 'LearnedRoute' resource(s) (1 unchanged)\n");
  ok(await meshless('delete', '-f', saved), "Successfully deleted 1 'LearnedRoute' resource(s)\n");
});

describe('IPAM kinds and ipam show', () => {
  test('a node gets a block; blocks and affinities list, round-trip and go away with the node', async () => {
    ok(
      await withStdin(
        pool('ipam-pool', '10.60.0.0/24').replace('cidr: 10.60.0.0/24', 'cidr: 10.60.0.0/24, blockSize: 26') +
          '---\n' +
          `apiVersion: ${V3}\nkind: Node\nmetadata: {name: ipam-node}\nspec: {}\n`,
        'apply',
        '-f',
        '-',
      ),
      'Successfully applied 2 resource(s)\n',
    );
    const client = createDatastoreClient(suite.cluster.address);
    try {
      const { block } = await client.allocateBlock('ipam-node', { pool: 'ipam-pool' });
      assert.equal((block.spec as { cidr: string }).cidr, '10.60.0.0/26');
    } finally {
      client.close();
    }
    ok(
      await meshless('get', 'ipamblocks'),
      'NAME           CIDR           AFFINITY\n10-60-0-0-26   10.60.0.0/26   host:ipam-node\n\n',
    );
    ok(
      await meshless('get', 'blockaffinity', '-o', 'wide'),
      'NAME                     NODE        CIDR           STATE       DELETED   TYPE\n' +
        'ipam-node-10-60-0-0-26   ipam-node   10.60.0.0/26   confirmed   false     host\n\n',
    );
    ok(
      await meshless('ipam', 'show', '--show-blocks'),
      '+----------+--------------+-----------+------------+------------+\n' +
        '| GROUPING |     CIDR     | IPS TOTAL | IPS IN USE |  IPS FREE  |\n' +
        '+----------+--------------+-----------+------------+------------+\n' +
        '| IP Pool  | 10.60.0.0/24 |       256 |     0 (0%) | 256 (100%) |\n' +
        '| Block    | 10.60.0.0/26 |        64 |     0 (0%) |  64 (100%) |\n' +
        '+----------+--------------+-----------+------------+------------+\n',
    );
    ok(
      await meshless('ipam', 'show'),
      '+----------+--------------+-----------+------------+------------+\n' +
        '| GROUPING |     CIDR     | IPS TOTAL | IPS IN USE |  IPS FREE  |\n' +
        '+----------+--------------+-----------+------------+------------+\n' +
        '| IP Pool  | 10.60.0.0/24 |       256 |     0 (0%) | 256 (100%) |\n' +
        '+----------+--------------+-----------+------------+------------+\n',
    );
    for (const kind of ['IPAMBlock', 'BlockAffinity']) {
      const saved = file(`${kind}.yaml`, ok(await meshless('get', kind, '-o', 'yaml')));
      ok(await meshless('apply', '-f', saved), `Successfully applied 1 '${kind}' resource(s) (1 unchanged)\n`);
    }
    ok(await meshless('delete', 'node', 'ipam-node'), "Successfully deleted 1 'Node' resource(s)\n");
    ok(await meshless('get', 'blocks'), 'NAME   CIDR   AFFINITY\n\n');
    ok(await meshless('delete', 'pool', 'ipam-pool'), "Successfully deleted 1 'IPPool' resource(s)\n");
  });

  test('ipam show with no pool is the heading box', async () => {
    ok(
      await meshless('ipam', 'show'),
      '+----------+------+-----------+------------+----------+\n' +
        '| GROUPING | CIDR | IPS TOTAL | IPS IN USE | IPS FREE |\n' +
        '+----------+------+-----------+------------+----------+\n',
    );
  });
});

describe('get: output modes, names, namespaces, selectors', () => {
  before(async () => {
    const text = [
      pool('pool-b', '10.2.0.0/16').replace('{name: pool-b}', '{name: pool-b, labels: {tier: gold}}'),
      pool('pool-a', '10.1.0.0/16'),
      doc('NetworkPolicy', { name: 'np-1', namespace: 'prod' }, { order: 10, selector: "app == 'web'" }),
      doc('NetworkPolicy', { name: 'np-2' }, { selector: 'all()' }),
    ].join('\n---\n');
    ok(await meshless('apply', '-f', file('get-fixtures.yaml', text)), 'Successfully applied 4 resource(s)\n');
  });

  after(async () => {
    ok(
      await meshless('delete', '-f', join(suite.scratch, 'get-fixtures.yaml')),
      'Successfully deleted 4 resource(s)\n',
    );
  });

  test('ps (default) and wide tables, sorted by name, with a blank line after', async () => {
    ok(
      await meshless('get', 'ippools'),
      'NAME     CIDR          SELECTOR\npool-a   10.1.0.0/16   all()\npool-b   10.2.0.0/16   all()\n\n',
    );
    ok(
      await meshless('get', 'ipp', '-o', 'ps'),
      'NAME     CIDR          SELECTOR\npool-a   10.1.0.0/16   all()\npool-b   10.2.0.0/16   all()\n\n',
    );
    const wide = ok(await meshless('get', 'pools', '-o', 'wide')).split('\n');
    assert.equal(
      wide[0],
      'NAME     CIDR          NAT     IPIPMODE   VXLANMODE   DISABLED   DISABLEBGPEXPORT   SELECTOR   ASSIGNMENTMODE',
    );
    assert.equal(
      wide[1],
      'pool-a   10.1.0.0/16   false   Never      Never       false      false              all()      Automatic',
    );
  });

  test('one name: the resource itself in yaml and json; several: a list', async () => {
    const one = parse(ok(await meshless('get', 'ippool', 'pool-a', '-o', 'yaml'))) as Resource;
    assert.equal(one.kind, 'IPPool');
    assert.equal(one.metadata.name, 'pool-a');
    assert.match(one.metadata.resourceVersion ?? '', /^\d+$/);
    const json = JSON.parse(ok(await meshless('get', 'IPPool', 'pool-a', '-o', 'json'))) as Resource;
    assert.deepEqual(json, one);
    const two = parse(ok(await meshless('get', 'ippool', 'pool-b', 'pool-a', '-o', 'yaml'))) as {
      kind: string;
      items: Resource[];
    };
    assert.equal(two.kind, 'IPPoolList');
    assert.deepEqual(
      two.items.map((r) => r.metadata.name),
      ['pool-b', 'pool-a'],
    );
    ok(await meshless('get', 'ippool', 'pool-b'), 'NAME     CIDR          SELECTOR\npool-b   10.2.0.0/16   all()\n\n');
  });

  test('namespaced kinds: "default" unless -n or -A, which add the NAMESPACE column', async () => {
    ok(await meshless('get', 'networkpolicies'), 'NAME   TIER\nnp-2   default\n\n');
    ok(await meshless('get', 'np', '-n', 'prod'), 'NAMESPACE   NAME   TIER\nprod        np-1   default\n\n');
    ok(
      await meshless('get', 'np', '-A', '-o', 'wide'),
      "NAMESPACE   NAME   TIER      ORDER   SELECTOR\ndefault     np-2   default           all()\nprod        np-1   default   10      app == 'web'\n\n",
    );
    const r = JSON.parse(ok(await meshless('get', 'np', 'np-1', '-n', 'prod', '-o', 'json'))) as Resource;
    assert.equal(r.metadata.namespace, 'prod');
  });

  test('-l filters by labels', async () => {
    ok(
      await meshless('get', 'ippools', '-l', 'tier=gold'),
      'NAME     CIDR          SELECTOR\npool-b   10.2.0.0/16   all()\n\n',
    );
    ok(
      await meshless('get', 'ippools', '-l', 'tier notin (gold)'),
      'NAME     CIDR          SELECTOR\npool-a   10.1.0.0/16   all()\n\n',
    );
  });

  test('bad get invocations fail with one line', async () => {
    fails(
      await meshless('get', 'ippool', 'pool-x'),
      "resource does not exist: IPPool(pool-x) with error: IPPool 'pool-x' does not exist",
    );
    fails(
      await meshless('get', 'np', 'np-1'),
      "resource does not exist: NetworkPolicy(default/np-1) with error: NetworkPolicy 'default/np-1' does not exist",
    );
    fails(await meshless('get', 'widgets'), /^resource type 'widgets' is not supported \(kinds: node, ippool, /);
    fails(
      await meshless('get', 'ippools', '-o', 'xml'),
      `option '-o, --output <format>' argument 'xml' is invalid. Allowed choices are ps, wide, yaml, json, custom-columns=..., go-template=...`,
    );
    fails(await meshless('get', 'np', 'np-1', '-A'), 'cannot use --all-namespaces flag for getting a single resource');
    fails(await meshless('get', 'ippool', 'pool-a', '-l', 'a=b'), 'give either NAME or -l SELECTOR, not both');
    fails(await meshless('get', 'ippools', '-l', 'a in ('), /label selector|selector/i);
    fails(await meshless('get'), 'name a KIND (e.g. meshless get ippools) or give -f FILE');
  });
});

describe('apply, create, replace, delete: calicoctl messages', () => {
  test('create refuses an existing resource; replace refuses a missing one', async () => {
    const f = file('c1.yaml', pool('c-1', '10.11.0.0/16'));
    ok(await meshless('create', '-f', f), "Successfully created 1 'IPPool' resource(s)\n");
    fails(
      await meshless('create', '-f', f),
      `failed to create 'IPPool' resource: ${f} document 1: resource already exists: IPPool(c-1)`,
    );
    ok(await meshless('replace', '-f', f), "Successfully replaced 1 'IPPool' resource(s)\n");
    const missing = file('c2.yaml', pool('c-2', '10.12.0.0/16'));
    fails(
      await meshless('replace', '-f', missing),
      `failed to replace 'IPPool' resource: ${missing} document 1: resource does not exist: IPPool(c-2) with error: IPPool 'c-2' does not exist`,
    );
    ok(await meshless('delete', 'ippools', 'c-1'), "Successfully deleted 1 'IPPool' resource(s)\n");
  });

  test('a stale resourceVersion is a conflict (replace and apply of an old get -o yaml)', async () => {
    ok(
      await withStdin(pool('c-3', '10.13.0.0/16'), 'apply', '-f', '-'),
      "Successfully applied 1 'IPPool' resource(s)\n",
    );
    const old = file('c3-old.yaml', ok(await meshless('get', 'ippool', 'c-3', '-o', 'yaml')));
    ok(
      await withStdin(
        pool('c-3', '10.13.0.0/16').replace('{cidr: 10.13.0.0/16}', '{cidr: 10.13.0.0/16, natOutgoing: true}'),
        'apply',
        '-f',
        '-',
      ),
    );
    fails(
      await meshless('replace', '-f', old),
      /^failed to replace 'IPPool' resource: .*c3-old\.yaml document 1: update conflict: IPPool\(c-3\): /,
    );
    fails(
      await meshless('apply', '-f', old),
      /^failed to apply 'IPPool' resource: .*c3-old\.yaml document 1: update conflict: IPPool\(c-3\): /,
    );
    ok(await meshless('delete', '-f', old), "Successfully deleted 1 'IPPool' resource(s)\n");
  });

  test('stopping midway reports partial success on stdout and the error on stderr', async () => {
    ok(await withStdin(pool('p-2', '10.22.0.0/16'), 'create', '-f', '-'));
    const f = file(
      'partial.yaml',
      [pool('p-1', '10.21.0.0/16'), pool('p-2', '10.22.0.0/16'), pool('p-3', '10.23.0.0/16')].join('---\n'),
    );
    fails(
      await meshless('create', '-f', f),
      `hit error: ${f} document 2: resource already exists: IPPool(p-2)`,
      "Partial success: created the first 1 out of 3 'IPPool' resources:\n",
    );
    ok(await meshless('get', 'ippools', 'p-1', 'p-2', '-o', 'json'));
    fails(await meshless('get', 'ippool', 'p-3'), /^resource does not exist: IPPool\(p-3\)/);
    const mixed = file(
      'mixed.yaml',
      [pool('p-4', '10.24.0.0/16'), doc('Profile', { name: 'p-5' }, {}), pool('p-2', '10.22.0.0/16')].join('\n---\n'),
    );
    fails(
      await meshless('create', '-f', mixed),
      `hit error: ${mixed} document 3: resource already exists: IPPool(p-2)`,
      'Partial success: created the first 2 out of 3 resources:\n',
    );
    fails(
      await meshless('delete', 'ippool', 'p-1', 'p-9', 'p-2'),
      "hit error: resource does not exist: IPPool(p-9) with error: IPPool 'p-9' does not exist",
      "Partial success: deleted the first 1 out of 3 'IPPool' resources:\n",
    );
    ok(await meshless('delete', 'ippool', 'p-2', 'p-4'), "Successfully deleted 2 'IPPool' resource(s)\n");
    ok(await meshless('delete', 'profile', 'p-5'), "Successfully deleted 1 'Profile' resource(s)\n");
  });

  test('delete by kind and name honours -n for namespaced kinds', async () => {
    ok(
      await withStdin(doc('NetworkPolicy', { name: 'd-1' }, { selector: 'all()' }), 'apply', '-n', 'ops', '-f', '-'),
      "Successfully applied 1 'NetworkPolicy' resource(s)\n",
    );
    fails(
      await meshless('delete', 'np', 'd-1'),
      "failed to delete 'NetworkPolicy' resource: resource does not exist: NetworkPolicy(default/d-1) with error: NetworkPolicy 'default/d-1' does not exist",
    );
    ok(await meshless('delete', 'np', 'd-1', '-n', 'ops'), "Successfully deleted 1 'NetworkPolicy' resource(s)\n");
  });
});

describe('bad input: one line naming file, document, kind, name and field; nothing is sent', () => {
  test('a later bad document stops the whole file before the first is sent', async () => {
    const f = file(
      'half-bad.yaml',
      pool('never-1', '10.31.0.0/16') +
        '---\n' +
        pool('never-2', '10.32.0.0/16').replace('{cidr: 10.32.0.0/16}', '{cidr: 10.32.0.0/16, blockSize: 33}'),
    );
    fails(
      await meshless('apply', '-f', f),
      `${f} document 2 (IPPool 'never-2'): spec.blockSize: 33 is out of range for IPv4 (20-32)`,
    );
    fails(await meshless('get', 'ippool', 'never-1'), /^resource does not exist: IPPool\(never-1\)/);
  });

  test('malformed YAML names file, document and line', async () => {
    const f = file(
      'broken.yaml',
      pool('y-1', '10.41.0.0/16') +
        '---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: y-2\nspec: {}\n',
    );
    fails(
      await meshless('apply', '-f', f),
      new RegExp(
        `^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} document 2: invalid YAML at line 9, column 1: Flow map in block collection must be sufficiently indented and end with a }$`,
      ),
    );
  });

  test('unknown kind, wrong apiVersion, invalid name, invalid field', async () => {
    fails(
      await withStdin(doc('Widget', { name: 'w' }, {}), 'apply', '-f', '-'),
      /^- document 1: kind: unknown kind 'Widget' \(known kinds: Node, IPPool, /,
    );
    fails(
      await withStdin(pool('v-1', '10.0.0.0/16').replace('/v3', '/v1'), 'create', '-f', '-'),
      `- document 1 (IPPool 'v-1'): apiVersion: "projectcalico.org/v1" is not supported: use projectcalico.org/v3`,
    );
    fails(
      await withStdin(pool('Not_A_Name', '10.0.0.0/16'), 'apply', '-f', '-'),
      /^- document 1 \(IPPool 'Not_A_Name'\): metadata\.name: 'Not_A_Name' is not a valid name/,
    );
    fails(
      await withStdin(pool('v-2', '10.0.0.0/33'), 'apply', '-f', '-'),
      /^- document 1 \(IPPool 'v-2'\): spec\.cidr: /,
    );
    fails(
      await withStdin(
        doc('BGPPeer', { name: 'v-3' }, { peerIP: '10.0.0.1', asNumber: 4294967296 }),
        'replace',
        '-f',
        '-',
      ),
      /^- document 1 \(BGPPeer 'v-3'\): spec\.asNumber: /,
    );
    fails(
      await withStdin(doc('IPPool', { name: 'v-4' }, { cidr: '10.0.0.0/16', colour: 'blue' }), 'apply', '-f', '-'),
      /^- document 1 \(IPPool 'v-4'\): spec\.colour: /,
    );
  });

  test('a pool overlapping a stored one is refused by the datastore, named by file and document', async () => {
    ok(await withStdin(pool('o-1', '10.51.0.0/16'), 'apply', '-f', '-'));
    fails(
      await withStdin(pool('o-2', '10.51.128.0/17'), 'apply', '-f', '-'),
      /^failed to apply 'IPPool' resource: - document 1: .*overlap/i,
    );
    ok(await meshless('delete', 'ippool', 'o-1'));
  });

  test('missing file, empty file, empty directory, no -f', async () => {
    fails(
      await meshless('apply', '-f', join(suite.scratch, 'nope.yaml')),
      `cannot read ${join(suite.scratch, 'nope.yaml')}: no such file or directory`,
    );
    fails(
      await meshless('apply', '-f', file('empty.yaml', '# nothing\n')),
      `no resources specified in ${join(suite.scratch, 'empty.yaml')}`,
    );
    const emptyDir = mkdtempSync(join(suite.scratch, 'dir-'));
    fails(
      await meshless('apply', '-f', emptyDir),
      `no resources specified in directory ${emptyDir} (it has no .yaml, .yml or .json file)`,
    );
    fails(await meshless('apply'), 'nothing to apply: give -f FILE, -f DIR or -f - (see meshless apply --help)');
    fails(await meshless('delete', 'ippool'), 'name the IPPool resource(s) to delete: meshless delete ippool NAME...');
    fails(await meshless('delete', 'gizmo', 'x'), /^resource type 'gizmo' is not supported/);
  });

  test('a 10 MB document is refused before it is parsed or sent', async () => {
    const big = `apiVersion: ${V3}\nkind: Profile\nmetadata:\n  name: huge\n  annotations:\n    blob: "${'x'.repeat(10 * 1024 * 1024)}"\nspec: {}\n`;
    const f = file('huge.yaml', big);
    fails(
      await meshless('apply', '-f', f),
      `${f} document 1: document is 10.0 MiB, larger than the 4.0 MiB limit per document`,
    );
    fails(
      await withStdin(big, 'apply', '-f', '-'),
      '- document 1: document is 10.0 MiB, larger than the 4.0 MiB limit per document',
    );
  });

  test('JSON input: one object, an array, and a List', async () => {
    const arr = JSON.stringify([
      JSON.parse(doc('Profile', { name: 'j-1' }, {})),
      JSON.parse(doc('Profile', { name: 'j-2' }, {})),
    ]);
    ok(await meshless('apply', '-f', file('arr.json', arr)), "Successfully applied 2 'Profile' resource(s)\n");
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [JSON.parse(doc('Profile', { name: 'j-1' }, {}))],
    });
    ok(await withStdin(list, 'delete', '-f', '-'), "Successfully deleted 1 'Profile' resource(s)\n");
    ok(
      await withStdin(doc('Profile', { name: 'j-2' }, {}), 'delete', '-f', '-'),
      "Successfully deleted 1 'Profile' resource(s)\n",
    );
  });
});
