import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DOCUMENT_BYTES, MAX_SOURCE_BYTES, parseDocuments, ResourceError, validateResource } from './index.js';

const pool = (name: string, cidr: string) => `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: ${name}
spec:
  cidr: ${cidr}
`;

function assertParseError(text: string, source: string, message: string | RegExp): ResourceError {
  let caught: unknown;
  try {
    parseDocuments(text, source);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ResourceError, `expected a ResourceError, got ${String(caught)}`);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

test('multi-document YAML: numbering counts every document, empty ones are skipped', () => {
  const text = `# pools for the lab
---
${pool('a', '10.0.0.0/16')}---
# nothing here
---
${pool('b', '10.1.0.0/16')}...
---
${pool('c', '10.2.0.0/16')}---
`;
  const docs = parseDocuments(text, 'pools.yaml');
  assert.deepEqual(
    docs.map((d) => [d.source, d.index, (d.object.metadata as { name: string }).name]),
    [
      ['pools.yaml', 1, 'a'],
      ['pools.yaml', 3, 'b'],
      ['pools.yaml', 4, 'c'],
    ],
  );
  assert.equal(docs[0]!.item, undefined);
  assert.deepEqual(parseDocuments('', 'empty.yaml'), []);
  assert.deepEqual(parseDocuments('# only a comment\n', 'c.yaml'), []);
});

test('JSON: one object, an array, and Lists', () => {
  const obj = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'a' },
    spec: { cidr: '10.0.0.0/16' },
  };
  assert.deepEqual(parseDocuments(JSON.stringify(obj), 'a.json'), [{ source: 'a.json', index: 1, object: obj }]);
  const arr = parseDocuments(JSON.stringify([obj, { ...obj, metadata: { name: 'b' } }]), 'b.json');
  assert.deepEqual(
    arr.map((d) => [d.index, d.item]),
    [
      [1, 1],
      [1, 2],
    ],
  );
  const list = parseDocuments(
    JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'List', items: [obj, obj, obj] }),
    'l.json',
  );
  assert.deepEqual(
    list.map((d) => d.item),
    [1, 2, 3],
  );
  const yamlList = parseDocuments(
    `${pool('x', '10.9.0.0/16')}---
apiVersion: projectcalico.org/v3
kind: IPPoolList
---
kind: List
items:
  - ${JSON.stringify(obj)}
  - apiVersion: projectcalico.org/v3
    kind: Node
    metadata: {name: n1}
`,
    'mixed.yaml',
  );
  assert.deepEqual(
    yamlList.map((d) => [d.index, d.item, d.object.kind]),
    [
      [1, undefined, 'IPPool'],
      [2, undefined, 'IPPoolList'],
      [3, 1, 'IPPool'],
      [3, 2, 'Node'],
    ],
  );
  assertParseError(
    '{"kind":"List","items":{}}',
    'l.json',
    'l.json document 1 (List): items: a List must have an items array',
  );
  assertParseError(
    '[1]',
    'n.json',
    'n.json document 1 item 1: expected a resource (a mapping with apiVersion, kind, metadata and spec), got a number',
  );
  // Broken JSON falls through to the YAML parser, which reports the position.
  assertParseError(
    '{"kind": "IPPool",\n "metadata": {"name": "a"',
    'bad.json',
    /^bad\.json document 1: invalid YAML at line 2, column \d+: /,
  );
});

test('malformed YAML names file, document, line and column', () => {
  const text = `${pool('a', '10.0.0.0/16')}---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: [b
spec: {}
`;
  const e = assertParseError(
    text,
    'examples/pools.yaml',
    /^examples\/pools\.yaml document 2: invalid YAML at line 12, column 1: Flow sequence/,
  );
  assert.equal(e.document, 2);
  assert.equal(e.source, 'examples/pools.yaml');
  assertParseError(
    'a: 1\n  b: 2\n',
    'x.yaml',
    'x.yaml document 1: invalid YAML at line 1, column 4: Nested mappings are not allowed in compact mappings',
  );
  assertParseError(
    'a: 1\na: 2\n',
    'dup.yaml',
    "dup.yaml document 1: invalid YAML at line 2, column 1: Map keys must be unique: 'a' appears twice",
  );
  assertParseError(
    'a: 1\nb:\n  c: 2\n  c: 3\n',
    'dup2.yaml',
    "dup2.yaml document 1: invalid YAML at line 4, column 3: Map keys must be unique: 'c' appears twice",
  );
  assertParseError(
    'just text\n',
    's.yaml',
    's.yaml document 1: expected a resource (a mapping with apiVersion, kind, metadata and spec), got a string',
  );
  assertParseError(
    '- a\n- b\n',
    'seq.yaml',
    'seq.yaml document 1 item 1: expected a resource (a mapping with apiVersion, kind, metadata and spec), got a string',
  );
  assertParseError(42 as unknown as string, 'n', 'n: resource text must be a string');
});

test('many keys parse in linear time (the duplicate check is one pass)', () => {
  const text = Array.from({ length: 20_000 }, (_, i) => `k${i}: v${i}`).join('\n');
  assert.equal(Object.keys(parseDocuments(text, 'keys.yaml')[0]!.object).length, 20_000);
  assertParseError(
    `${text}\nk7: again\n`,
    'keys.yaml',
    "keys.yaml document 1: invalid YAML at line 20001, column 1: Map keys must be unique: 'k7' appears twice",
  );
});

test('YAML alias bombs are refused', () => {
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 10; i++)
    levels.push(`${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${new Array(10).fill(`*${'abcdefghij'[i - 1]}`).join(',')}]`);
  assertParseError(levels.join('\n'), 'bomb.yaml', /^bomb\.yaml document 1: invalid YAML: Excessive alias count/);
});

test('a 10 MB document is refused before parsing, naming the document and the limit', () => {
  const big = `${pool('a', '10.0.0.0/16')}metadata2: "${'x'.repeat(10 * 1024 * 1024)}"\n`;
  const e = assertParseError(
    big,
    'big.yaml',
    'big.yaml document 1: document is 10.0 MiB, larger than the 4.0 MiB limit per document',
  );
  assert.equal(e.document, 1);
  assertParseError(
    `${pool('a', '10.0.0.0/16')}---\n${big}`,
    'big2.yaml',
    /^big2\.yaml document 2: document is 10\.0 MiB/,
  );
  assertParseError(
    `{"apiVersion": "${'y'.repeat(MAX_DOCUMENT_BYTES)}"}`,
    'big.json',
    /^big\.json document 1: document is 4\.0 MiB, larger than the 4\.0 MiB limit/,
  );
  // Many small documents under the per-document limit are fine; a whole source has its own limit.
  const many = new Array(2)
    .fill(`${pool('a', '10.0.0.0/16')}note: ${'z'.repeat(MAX_DOCUMENT_BYTES - 200)}\n`)
    .join('---\n');
  assert.equal(parseDocuments(many, 'many.yaml').length, 2);
  assertParseError(
    ' '.repeat(MAX_SOURCE_BYTES + 1),
    'huge.yaml',
    'huge.yaml: 64.0 MiB is larger than the 64.0 MiB limit per file',
  );
});

test('parse then validate: errors carry the document and item', () => {
  const docs = parseDocuments(
    `kind: List\nitems:\n  - ${JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', blockSize: 40 } })}\n`,
    'l.yaml',
  );
  const d = docs[0]!;
  assert.throws(
    () =>
      validateResource(d.object, {
        source: d.source,
        document: d.index,
        ...(d.item === undefined ? {} : { item: d.item }),
      }),
    (e: unknown) =>
      e instanceof ResourceError &&
      e.message === "l.yaml document 1 item 1 (IPPool 'p'): spec.blockSize: 40 is out of range for IPv4 (20-32)",
  );
});
