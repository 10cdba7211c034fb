// Where the project's own files are, the same from the TypeScript sources (run through tsx) and
// from the compiled bundles under dist/ (infra/build.mjs), whose import.meta.url is a chunk's, not
// the source file's. Anything that spawns `meshless` or another entry point asks here instead of
// resolving a path relative to its own file.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
