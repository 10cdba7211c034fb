import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { validateResource, type Resource } from '../../shared/resources/index.js';
import { loadResources } from './load.js';
import { listObject, toJson, yamlPrinter } from './output.js';

const toYaml = await yamlPrinter();

const pool = (name: string, cidr: string): Resource => {
  const r = validateResource({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name },
    spec: { cidr },
  });
  r.metadata.resourceVersion = '7';
  return r;
};

test('YAML sorts keys at every level, as calicoctl (sigs.k8s.io/yaml) does', () => {
  const text = toYaml(pool('a', '10.0.0.0/16'));
  const keys = [...text.matchAll(/^(\s*)(\w+):/gm)].filter((m) => m[1] === '  ').map((m) => m[2]);
  assert.deepEqual(keys.slice(0, 2), ['name', 'resourceVersion']);
  assert.ok(text.startsWith('apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n'));
  assert.ok(
    text.indexOf('allowedUses') < text.indexOf('blockSize') && text.indexOf('blockSize') < text.indexOf('cidr'),
  );
});

test('a listing is an <Kind>List with the revision it reflects, and reads back through load', () => {
  const list = listObject('IPPool', [pool('a', '10.0.0.0/16'), pool('b', '10.1.0.0/16')], 42);
  const yaml = toYaml(list);
  const parsed = parse(yaml) as { kind: string; metadata: { resourceVersion: string }; items: unknown[] };
  assert.equal(parsed.kind, 'IPPoolList');
  assert.equal(parsed.metadata.resourceVersion, '42');
  assert.equal(parsed.items.length, 2);
  for (const [name, text] of [
    ['l.yaml', yaml],
    ['l.json', toJson(list)],
  ] as const) {
    const back = loadResources([{ name, text }]).map((r) => r.resource);
    assert.deepEqual(back, list.items);
  }
});

test('JSON keeps document order, two-space indent, one trailing newline', () => {
  const text = toJson(pool('a', '10.0.0.0/16'));
  assert.ok(text.startsWith('{\n  "apiVersion": "projectcalico.org/v3",\n  "kind": "IPPool",\n'));
  assert.ok(text.endsWith('}\n') && !text.endsWith('\n\n'));
  assert.deepEqual(JSON.parse(text), pool('a', '10.0.0.0/16'));
});

test('an empty listing still prints a list with an empty items array', () => {
  assert.equal(
    toYaml(listObject('BGPPeer', [], 3)),
    'apiVersion: projectcalico.org/v3\nitems: []\nkind: BGPPeerList\nmetadata:\n  resourceVersion: "3"\n',
  );
});
