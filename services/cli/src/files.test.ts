import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CliError } from './failure.js';
import { readSources } from './files.js';

const noStdin = () => Readable.from([]);

function scratch(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'meshless-cli-files-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a directory contributes its .yaml, .yml and .json files sorted by name, nothing else', async () => {
  const { dir, done } = scratch();
  try {
    writeFileSync(join(dir, 'b.yml'), 'b');
    writeFileSync(join(dir, 'a.yaml'), 'a');
    writeFileSync(join(dir, 'c.JSON'), 'c');
    writeFileSync(join(dir, 'README.md'), 'no');
    mkdirSync(join(dir, 'sub.yaml'));
    const got = await readSources([dir], noStdin());
    assert.deepEqual(
      got.map((s) => [s.name, s.text]),
      [
        [join(dir, 'a.yaml'), 'a'],
        [join(dir, 'b.yml'), 'b'],
        [join(dir, 'c.JSON'), 'c'],
      ],
    );
  } finally {
    done();
  }
});

test('files, directories and stdin keep the order of the -f flags; stdin is named "-"', async () => {
  const { dir, done } = scratch();
  try {
    writeFileSync(join(dir, 'one.yaml'), '1');
    const got = await readSources(
      [join(dir, 'one.yaml'), '-'],
      Readable.from([Buffer.from('from '), Buffer.from('stdin')]),
    );
    assert.deepEqual(got, [
      { name: join(dir, 'one.yaml'), text: '1' },
      { name: '-', text: 'from stdin' },
    ]);
  } finally {
    done();
  }
});

test('a missing file is a one-line error naming it', async () => {
  await assert.rejects(readSources(['/nonexistent/pools.yaml'], noStdin()), (err: unknown) => {
    assert.ok(err instanceof CliError);
    assert.equal(err.message, 'cannot read /nonexistent/pools.yaml: no such file or directory');
    return true;
  });
});

test('a directory without resource files, no -f at all, and stdin twice are errors', async () => {
  const { dir, done } = scratch();
  try {
    writeFileSync(join(dir, 'notes.txt'), 'x');
    await assert.rejects(readSources([dir], noStdin()), {
      message: `no resources specified in directory ${dir} (it has no .yaml, .yml or .json file)`,
    });
    await assert.rejects(readSources([], noStdin()), /no input: give at least one -f FILE/);
    await assert.rejects(readSources(['-', '-'], noStdin()), /-f - \(standard input\) may be given only once/);
  } finally {
    done();
  }
});
