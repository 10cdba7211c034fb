// The yaml package, imported when a command reads or prints YAML rather than at every `meshless`
// start (infra/build.test.ts checks that `--help` does not load it).
import type * as Yaml from 'yaml';

/**
 * yaml's named exports. Under tsx they are the module's own; in the compiled bundle yaml is its
 * CommonJS build, and esbuild hands a dynamic import() of CommonJS its exports under `default`.
 */
export async function loadYaml(): Promise<typeof Yaml> {
  const mod = (await import('yaml')) as typeof Yaml & { default?: typeof Yaml };
  return typeof mod.stringify === 'function' ? mod : mod.default!;
}
