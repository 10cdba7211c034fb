// Where the project's own files are, the same from the TypeScript sources (run through tsx) and
// from the compiled bundles under dist/ (infra/build.mjs), whose import.meta.url is a chunk's, not
// the source file's. Anything that spawns `meshless` or another entry point asks here instead of
// resolving a path relative to its own file.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const here = fileURLToPath(import.meta.url);

/** The repository (or the image's /app): the nearest directory above this file holding bin/meshless.mjs. */
export const PROJECT_ROOT: string = (() => {
  for (let dir = dirname(here); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'meshless.mjs'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find bin/meshless.mjs above ${here}`);
  }
})();

/** True when this process runs the compiled bundles, false when it runs the sources through tsx. */
export const COMPILED: boolean = here.startsWith(join(PROJECT_ROOT, 'dist') + '/');

/** The `meshless` command; run it with `process.execPath`. */
export const MESHLESS_BIN: string = join(PROJECT_ROOT, 'bin', 'meshless.mjs');

/**
 * How to run one of the build's entry points (infra/build.mjs ENTRIES) as a Node program, given its
 * source path from the project root, e.g. 'loadtest/fanout/worker.ts': the compiled bundle when
 * this process is compiled, else the source through tsx. Returns [execArgv, script].
 */
export function entryPoint(source: string): { execArgv: string[]; script: string } {
  if (COMPILED) return { execArgv: [], script: join(PROJECT_ROOT, 'dist', source.replace(/\.ts$/, '.js')) };
  return { execArgv: ['--import', import.meta.resolve('tsx')], script: join(PROJECT_ROOT, source) };
}

interface Freshness {
  CHECKED_ENV: string;
  checkedStamp(root: string): string | undefined;
}

/**
 * For a launcher of several `meshless` processes: the environment that lets them skip the
 * freshness check of dist/ (infra/fresh.mjs CHECKED_ENV), after one check here that builds dist/
 * when it is stale (through `meshless --help`, as any start would). Empty where there is
 * nothing to check (the image: no infra/) or dist/ could not be made fresh: the children then
 * check for themselves.
 */
export async function checkedDistEnv(): Promise<Record<string, string>> {
  const fresh = join(PROJECT_ROOT, 'infra', 'fresh.mjs');
  if (!existsSync(fresh)) return {};
  const { CHECKED_ENV, checkedStamp } = (await import(pathToFileURL(fresh).href)) as Freshness;
  let stamp = checkedStamp(PROJECT_ROOT);
  if (stamp === undefined) {
    await promisify(execFile)(process.execPath, [MESHLESS_BIN, '--help'], { timeout: 120_000 });
    stamp = checkedStamp(PROJECT_ROOT);
  }
  return stamp === undefined ? {} : { [CHECKED_ENV]: stamp };
}
