import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceError } from '../../shared/resources/index.js';
import { loadResources } from './load.js';

const pool = (name: string, cidr: string) =>
  `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ${name}}\nspec: {cidr: ${cidr}}\n`;

function loadError(text: string, options = {}): string {
  try {
    loadResources([{ name: 'f.yaml', text }], options);
  } catch (err) {
    assert.ok(err instanceof Error);
    return err.message;
  }
  assert.fail('expected an error');
}

test('multi-document YAML yields validated resources, defaults filled in, each with its place', () => {
  const got = loadResources([
    { name: 'pools.yaml', text: pool('a', '10.0.0.0/16') + '---\n' + pool('b', '10.1.0.0/16') },
  ]);
  assert.deepEqual(
    got.map((r) => [r.where, r.resource.kind, r.resource.metadata.name]),
    [
      ['pools.yaml document 1', 'IPPool', 'a'],
      ['pools.yaml document 2', 'IPPool', 'b'],
    ],
  );
  const first = got[0]!.resource;
  assert.equal(first.kind === 'IPPool' && first.spec.blockSize, 26);
});

test("calicoctl's typed list (IPPoolList, what get -o yaml prints) and kind: List expand to their items", () => {
  const typed =
    'apiVersion: projectcalico.org/v3\nkind: IPPoolList\nmetadata: {resourceVersion: "9"}\nitems:\n' +
    '- {apiVersion: projectcalico.org/v3, kind: IPPool, metadata: {name: a}, spec: {cidr: 10.0.0.0/16}}\n' +
    '- {apiVersion: projectcalico.org/v3, kind: IPPool, metadata: {name: b}, spec: {cidr: 10.1.0.0/16}}\n';
  assert.deepEqual(
    loadResources([{ name: 'l.yaml', text: typed }]).map((r) => r.resource.metadata.name),
    ['a', 'b'],
  );
  const list = JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [{ apiVersion: 'projectcalico.org/v3', kind: 'Profile', metadata: { name: 'p' }, spec: {} }],
  });
  assert.deepEqual(
    loadResources([{ name: 'l.json', text: list }]).map((r) => `${r.resource.kind}/${r.resource.metadata.name}`),
    ['Profile/p'],
  );
  assert.equal(
    loadError('apiVersion: projectcalico.org/v3\nkind: IPPoolList\nitems: 3\n'),
    'f.yaml document 1 (IPPoolList): items: a IPPoolList must have an items array',
  );
});

test('errors name the file, document, kind, name and field', () => {
  assert.equal(
    loadError(pool('a', '10.0.0.0/16') + '---\nkind: [\n'),
    'f.yaml document 2: invalid YAML at line 7, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
  );
  assert.match(
    loadError('apiVersion: projectcalico.org/v3\nkind: Foo\nmetadata: {name: a}\nspec: {}\n'),
    /^f\.yaml document 1: kind: unknown kind 'Foo'/,
  );
  assert.equal(
    loadError(pool('a', '10.0.0.0/16').replace('v3', 'v2')),
    `f.yaml document 1 (IPPool 'a'): apiVersion: "projectcalico.org/v2" is not supported: use projectcalico.org/v3`,
  );
  assert.match(
    loadError(pool('Bad_Name', '10.0.0.0/16')),
    /^f\.yaml document 1 \(IPPool 'Bad_Name'\): metadata\.name: 'Bad_Name' is not a valid name/,
  );
  assert.equal(
    loadError(pool('a', '10.0.0.0/16').replace('cidr: 10.0.0.0/16', 'cidr: 10.0.0.0/16, blockSize: 33')),
    "f.yaml document 1 (IPPool 'a'): spec.blockSize: 33 is out of range for IPv4 (20-32)",
  );
});

test('a file with no resource in it is an error naming it', () => {
  assert.equal(loadError('# nothing here\n---\n'), 'no resources specified in f.yaml');
  assert.throws(() => loadResources([{ name: '-', text: '' }]), {
    message: 'no resources specified in standard input',
  });
});

test('-n fills the namespace of namespaced kinds, leaves cluster kinds alone, and refuses a different one', () => {
  const np = 'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: web}\nspec: {selector: all()}\n';
  const [r] = loadResources([{ name: 'np.yaml', text: np + '---\n' + pool('a', '10.0.0.0/16') }], {
    namespace: 'prod',
  });
  assert.equal(r!.resource.metadata.namespace, 'prod');
  assert.equal(loadResources([{ name: 'np.yaml', text: np }])[0]!.resource.metadata.namespace, 'default');
  const other = np.replace('{name: web}', '{name: web, namespace: dev}');
  const err = (() => {
    try {
      loadResources([{ name: 'np.yaml', text: other }], { namespace: 'prod' });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ResourceError);
  assert.equal(
    err.message,
    "np.yaml document 1 (NetworkPolicy 'web'): metadata.namespace: namespace 'dev' does not match -n prod",
  );
});
