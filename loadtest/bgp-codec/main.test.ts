// Smoke test of the benchmark itself on a small table: it runs, round-trips every prefix and
// prints the documented JSON as its last line. No timing is asserted (that is what the benchmark
// reports, not what a test checks).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';

const run = promisify(execFile);

it('bench:bgp-codec prints the JSON result as its last line', async () => {
  const script = fileURLToPath(new URL('./main.ts', import.meta.url));
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', script, '--prefixes', '20000', '--sets', '200', '--runs', '1', '--json'],
    { timeout: 120_000 },
  );
  const last = stdout.trim().split('\n').at(-1)!;
  const r = JSON.parse(last) as Record<string, number>;
  assert.equal(r.prefixes, 20000);
  for (const k of ['decodePrefixesPerSec', 'encodePrefixesPerSec', 'decodeMBPerSec', 'bytesPerDecodedRoute']) {
    assert.equal(typeof r[k], 'number', k);
    assert.ok(r[k]! > 0, `${k} = ${r[k]}`);
  }
  assert.ok(r.updates! >= 200, 'at least one UPDATE per attribute set');
});
