// Whether dist/ is up to date with the sources: the check every `meshless` start makes
// (bin/meshless.mjs, bin/cni-launch.mjs), in a file of its own so that a start reads this and not
// the build (infra/build.mjs and its esbuild plugins), which is imported only when dist/ is stale.
// dist/build.json records when the build started; dist/ is stale when any input (a .ts file under
// the source roots, package.json, package-lock.json or the build's own files) changed after that.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_ROOTS = ['services', 'proto/gen', 'infra', 'loadtest'];
const EXTRA_INPUTS = ['package.json', 'package-lock.json', 'infra/build.mjs', 'infra/barrels.mjs', 'infra/fresh.mjs'];

/**
 * The newest mtime (ms) of any build input; test files are not inputs. Every `meshless` start
 * runs this walk, so it stays lean: names only (no Dirent per entry), paths by concatenation (no
 * path.join), a stat only for .ts sources, and a name without a dot taken for a directory (none
 * of the source directories has a dot in its name; a file without one, like a Makefile, fails
 * the readdir and is skipped). ~11 ms of CPU for ~360 sources, where withFileTypes, path.join
 * and a stat per entry cost ~25.
 */
export function newestInput(root = ROOT) {
  let newest = 0;
  const visit = (dir) => {
    let names;
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      if (name.endsWith('.ts')) {
        if (!name.endsWith('.test.ts')) newest = Math.max(newest, statSync(`${dir}/${name}`).mtimeMs);
      } else if (!name.includes('.')) visit(`${dir}/${name}`);
    }
  };
  for (const r of SOURCE_ROOTS) visit(join(root, r));
  for (const f of EXTRA_INPUTS) {
    try {
      newest = Math.max(newest, statSync(join(root, f)).mtimeMs);
    } catch {}
  }
  return newest;
}

/** When the build in dist/ started (dist/build.json), or undefined when there is none. */
function buildStarted(root) {
  try {
    const { startedMs } = JSON.parse(readFileSync(join(root, 'dist', 'build.json'), 'utf8'));
    return typeof startedMs === 'number' ? startedMs : undefined;
  } catch {
    return undefined;
  }
}

/** Why dist/ cannot be used as it is, or undefined when it is up to date. */
export function staleReason(root = ROOT) {
  const started = buildStarted(root);
  if (started === undefined) return 'dist/ has not been built';
  // No sources next to dist/ (the container image ships dist/ alone): nothing to compare with.
  if (!existsSync(join(root, 'services'))) return undefined;
  if (newestInput(root) > started) return 'sources changed since dist/ was built';
  return undefined;
}

/**
 * A launcher that starts several `meshless` processes at once (the end-to-end lab, `npm start`)
 * checks dist/ once and hands its children CHECKED_ENV naming the build it checked; each child
 * then skips the walk over every source (~10 ms of CPU per start, five or eight starts competing
 * for the same cores). The value is the build's start time, so a rebuild since the check is not
 * covered: the child checks for itself. Where nothing can be stale (no sources: the image),
 * there is nothing to skip.
 */
export const CHECKED_ENV = 'MESHLESS_DIST_CHECKED';

/** The value of CHECKED_ENV for dist/ as it is now, or undefined when it is stale or missing. */
export function checkedStamp(root = ROOT) {
  const started = buildStarted(root);
  return started === undefined || staleReason(root) !== undefined ? undefined : String(started);
}

/** Whether `checked` (a launcher's CHECKED_ENV) names the build dist/ holds now. */
export function checkedByLauncher(checked, root = ROOT) {
  return checked !== undefined && checked !== '' && checked === String(buildStarted(root));
}
