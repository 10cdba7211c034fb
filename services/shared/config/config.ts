// Typed configuration. Each service declares its parameters once (name, type, default, check,
// description); values come from, highest first: explicit overrides (CLI flags), environment
// `MESHLESS_<NAME>`, the config file, the default. An unknown key in the file or an invalid value
// anywhere throws ConfigError naming the parameter and its source, and start-up stops.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export type ParamType = 'string' | 'int' | 'bool' | 'duration' | 'list';

export interface ParamSpec<T> {
  readonly type: ParamType;
  readonly default: T;
  readonly description: string;
  /** Returns an error message when the (already typed) value is not acceptable. */
  readonly check?: (value: T) => string | undefined;
}

export type ParamValue<S> = S extends ParamSpec<infer T> ? T : never;
export type ConfigSpec = Record<string, ParamSpec<any>>;
export type ConfigOf<S extends ConfigSpec> = { readonly [K in keyof S]: ParamValue<S[K]> };

export class ConfigError extends Error {}

/** `listenPort` → `MESHLESS_LISTEN_PORT`. */
export function envName(param: string): string {
  return 'MESHLESS_' + param.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION = /^([0-9]+(?:\.[0-9]+)?(?:ns|us|µs|μs|ms|s|m|h))+$/;

/**
 * The one duration syntax, for configuration and for resources (Calico's YAML fields are
 * Kubernetes durations): Go's, a sequence of decimal numbers with units ns, us (µs), ms, s, m, h
 * ("90s", "1h30m", "500ms"), or "0". Milliseconds, undefined when the text is not a duration.
 * Configuration also takes a plain number of milliseconds (see coerce); resources do not.
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|μs|ms|s|m|h)/g))
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return total;
}

/** A configuration value: a duration (parseDuration) or a plain number of milliseconds, rounded. */
function configDuration(text: string): number | undefined {
  const t = text.trim();
  const ms = /^\d+(?:\.\d+)?$/.test(t) ? Number(t) : parseDuration(t);
  return ms === undefined ? undefined : Math.round(ms);
}

function coerce(spec: ParamSpec<unknown>, raw: unknown): { value?: unknown; error?: string } {
  switch (spec.type) {
    case 'string':
      return typeof raw === 'string' ? { value: raw } : { error: 'must be a string' };
    case 'int': {
      const n =
        typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      return Number.isSafeInteger(n) ? { value: n } : { error: `must be an integer, got ${JSON.stringify(raw)}` };
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw };
      if (raw === 'true' || raw === '1') return { value: true };
      if (raw === 'false' || raw === '0') return { value: false };
      return { error: `must be true or false, got ${JSON.stringify(raw)}` };
    }
    case 'duration': {
      const ms = typeof raw === 'number' ? raw : typeof raw === 'string' ? configDuration(raw) : undefined;
      return ms !== undefined && ms >= 0
        ? { value: ms }
        : { error: `must be a duration like 500ms, 10s or 5m, got ${JSON.stringify(raw)}` };
    }
    case 'list': {
      if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return { value: raw };
      if (typeof raw === 'string')
        return {
          value: raw
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        };
      return { error: 'must be a list of strings or a comma-separated string' };
    }
  }
}

export interface LoadOptions {
  /** Path of a YAML or JSON file; defaults to MESHLESS_CONFIG when set. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence: values given on the command line. Undefined entries are ignored. */
  overrides?: Record<string, unknown>;
}

export function loadConfig<S extends ConfigSpec>(spec: S, options: LoadOptions = {}): ConfigOf<S> {
  const env = options.env ?? process.env;
  const file = options.file ?? env.MESHLESS_CONFIG;
  let fromFile: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
    }
    // The YAML parser is required here, when a file is given: imported at the top it was ~260 KB of
    // JavaScript that every service compiled at start, most of them with no config file.
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    const parsed: unknown = parse(text);
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ConfigError(`config file ${file}: must be a mapping of parameter names to values`);
    }
    fromFile = (parsed ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(fromFile)) {
      if (!(key in spec))
        throw new ConfigError(
          `config file ${file}: unknown parameter '${key}' (known: ${Object.keys(spec).join(', ')})`,
        );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(spec)) {
    let raw: unknown = p.default;
    let source = 'default';
    if (fromFile[name] !== undefined) [raw, source] = [fromFile[name], `config file ${file}`];
    const e = env[envName(name)];
    if (e !== undefined && e !== '') [raw, source] = [e, `environment ${envName(name)}`];
    const o = options.overrides?.[name];
    if (o !== undefined) [raw, source] = [o, 'command line'];
    const { value, error } = coerce(p, raw);
    const problem = error ?? p.check?.(value);
    if (problem) throw new ConfigError(`invalid ${name} from ${source}: ${problem}`);
    out[name] = value;
  }
  return out as ConfigOf<S>;
}

/** HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 address (`[::1]:179`). */
export function isHostPort(v: string): boolean {
  return /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(v);
}

/** Helpers for common checks. */
export const checks = {
  port: (v: number) => (v >= 0 && v <= 65535 ? undefined : `must be a port number 0-65535, got ${v}`),
  /** The /metrics /livez /readyz port of a service: a port, 0 for any free one, -1 for none. */
  metricsPort: (v: number) =>
    v === -1 || (v >= 0 && v <= 65535) ? undefined : `must be a port number 0-65535 or -1 (off), got ${v}`,
  positive: (v: number) => (v > 0 ? undefined : `must be greater than 0, got ${v}`),
  hostPort: (v: string) => (isHostPort(v) ? undefined : `must be HOST:PORT, got '${v}'`),
  oneOf:
    (...allowed: string[]) =>
    (v: string) =>
      allowed.includes(v) ? undefined : `must be one of ${allowed.join(', ')}, got '${v}'`,
};

/** Renders the parameter table for --help and the README. */
export function describeConfig(spec: ConfigSpec): string {
  return Object.entries(spec)
    .map(([name, p]) => `  ${envName(name).padEnd(34)} ${p.description} (default ${JSON.stringify(p.default)})`)
    .join('\n');
}
