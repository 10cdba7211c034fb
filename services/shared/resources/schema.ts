// A small validation toolkit: each check takes an unknown value and its dotted path, and returns
// the normalized value or throws FieldError(path, reason). Objects list their fields, so an
// unknown field is always an error that names it. `null` counts as absent (as in Kubernetes).

export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export type Check<T> = (value: unknown, path: string) => T;

export interface Field<T = unknown> {
  check: Check<T>;
  /** When set, absence is an error with this reason (default "is required"). */
  required?: string;
  /** Value used when the field is absent. */
  default?: () => T;
}

export const fail = (path: string, reason: string): never => {
  throw new FieldError(path, reason);
};

export const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** A short description of a value's type for error messages: "a number (5)". */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `a string ('${value.length > 40 ? `${value.slice(0, 37)}...` : value}')`;
    case 'number':
    case 'boolean':
      return `a ${typeof value} (${String(value)})`;
    case 'object':
      return 'a mapping';
    default:
      return `a ${typeof value}`;
  }
}

export const optional = <T>(check: Check<T>): Field<T> => ({ check });
export const required = <T>(check: Check<T>, reason = 'is required'): Field<T> => ({ check, required: reason });
export const withDefault = <T>(check: Check<T>, value: T | (() => T)): Field<T> => ({
  check,
  default: typeof value === 'function' ? (value as () => T) : () => structuredClone(value),
});

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * An object with exactly these fields (in this order in the output). Unknown fields are errors;
 * absent optional fields stay absent; defaults are filled in.
 */
export function object(fields: Record<string, Field | Check<unknown>>): Check<Record<string, unknown>> {
  const specs = Object.entries(fields).map(([k, f]) => [k, typeof f === 'function' ? { check: f } : f] as const);
  const known = new Set(Object.keys(fields));
  const byLower = new Map(Object.keys(fields).map((k) => [k.toLowerCase(), k]));
  return (given, path) => {
    if (!isPlainObject(given)) return fail(path || '(resource)', `expected a mapping, got ${describe(given)}`);
    const value = matchFieldCase(given, known, byLower, path);
    const out: Record<string, unknown> = {};
    for (const [key, spec] of specs) {
      const v = value[key];
      const p = join(path, key);
      if (v === undefined || v === null) {
        if (spec.required) fail(p, spec.required);
        if (spec.default) out[key] = spec.default();
        continue;
      }
      out[key] = spec.check(v, p);
    }
    return out;
  };
}

/**
 * Calico decodes with Go's encoding/json, which matches field names case-insensitively
 * (`Spec:`, `Egress:`, `ICMP:` all work). Exact names pass through untouched; another spelling is
 * renamed to the declared one. Two spellings of one field in a mapping are an error: Go would
 * silently keep the last, which hides a mistake.
 */
function matchFieldCase(
  value: Record<string, unknown>,
  known: ReadonlySet<string>,
  byLower: ReadonlyMap<string, string>,
  path: string,
): Record<string, unknown> {
  let renamed: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    if (known.has(key)) continue;
    const declared = byLower.get(key.toLowerCase());
    if (declared === undefined) fail(join(path, key), unknownFieldReason(key, [...known]));
    renamed ??= {};
    renamed[key] = declared;
  }
  if (!renamed) return value;
  const out: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    const name = (renamed[key] as string | undefined) ?? key;
    if (name in from)
      fail(join(path, name), `is given twice, as '${from[name]}' and '${key}' (field names match in any case)`);
    from[name] = key;
    out[name] = v;
  }
  return out;
}

function unknownFieldReason(key: string, known: string[]): string {
  const near = known
    .map((k) => [k, distance(key.toLowerCase(), k.toLowerCase())] as const)
    .map(
      ([k, d]) => [k, key.length >= 3 && k.toLowerCase().startsWith(key.toLowerCase()) ? Math.min(d, 1) : d] as const,
    )
    .filter(([, d]) => d <= Math.max(2, Math.floor(key.length / 4)))
    .sort((a, b) => a[1] - b[1])[0];
  if (near) return `unknown field '${key}' (did you mean '${near[0]}'?)`;
  return `unknown field '${key}' (known fields: ${known.join(', ')})`;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

export function string(options: { maxLength?: number; nonEmpty?: boolean } = {}): Check<string> {
  return (value, path) => {
    if (typeof value !== 'string') return fail(path, `expected a string, got ${describe(value)}`);
    if (options.nonEmpty && value.length === 0) fail(path, 'must not be empty');
    if (options.maxLength !== undefined && value.length > options.maxLength) {
      fail(path, `is longer than ${options.maxLength} characters (${value.length})`);
    }
    return value;
  };
}

/** A string that `test` accepts: `test` returns the problem text or undefined. */
export function text(test: (s: string) => string | undefined, options: { maxLength?: number } = {}): Check<string> {
  const base = string({ ...options, nonEmpty: true });
  return (value, path) => {
    const s = base(value, path);
    const problem = test(s);
    if (problem) fail(path, problem);
    return s;
  };
}

/** A string mapped to a normalized value (or a problem text, returned as `{ problem }`). */
export function mapped<T>(
  convert: (s: string) => T | { problem: string },
  options: { maxLength?: number } = {},
): Check<T> {
  const base = string({ ...options, nonEmpty: true });
  return (value, path) => {
    const r = convert(base(value, path));
    if (r !== null && typeof r === 'object' && 'problem' in (r as object))
      return fail(path, (r as { problem: string }).problem);
    return r as T;
  };
}

export const boolean: Check<boolean> = (value, path) =>
  typeof value === 'boolean' ? value : fail(path, `expected true or false, got ${describe(value)}`);

export function integer(min: number, max: number, what = ''): Check<number> {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return fail(path, `expected an integer, got ${describe(value)}`);
    if (value < min || value > max) fail(path, `${value} is out of range${what ? ` for ${what}` : ''} (${min}-${max})`);
    return value;
  };
}

export const finiteNumber: Check<number> = (value, path) =>
  typeof value === 'number' && Number.isFinite(value) ? value : fail(path, `expected a number, got ${describe(value)}`);

export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (value, path) => {
    if (typeof value !== 'string') return fail(path, `expected one of ${values.join(', ')}, got ${describe(value)}`);
    if (!(values as readonly string[]).includes(value)) {
      const ci = values.find((v) => v.toLowerCase() === value.toLowerCase());
      fail(path, `'${value}' is not one of ${values.join(', ')}${ci ? ` (did you mean '${ci}'?)` : ''}`);
    }
    return value as T;
  };
}

export function list<T>(
  item: Check<T>,
  options: { maxItems?: number; unique?: boolean; nonEmpty?: boolean } = {},
): Check<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) return fail(path, `expected a list, got ${describe(value)}`);
    if (options.nonEmpty && value.length === 0) fail(path, 'must not be empty');
    if (options.maxItems !== undefined && value.length > options.maxItems) {
      fail(path, `has ${value.length} items, more than the limit of ${options.maxItems}`);
    }
    const out = value.map((v, i) =>
      v === null || v === undefined ? fail(`${path}[${i}]`, 'must not be null') : item(v, `${path}[${i}]`),
    );
    if (options.unique) {
      const seen = new Map<string, number>();
      out.forEach((v, i) => {
        const key = JSON.stringify(v);
        const first = seen.get(key);
        if (first !== undefined) fail(`${path}[${i}]`, `duplicates ${path}[${first}] (${key})`);
        seen.set(key, i);
      });
    }
    return out;
  };
}

/** A string-to-string mapping; `key` and `val` return a problem text or undefined. */
export function stringMap(
  key: (k: string) => string | undefined,
  val: (v: string) => string | undefined = () => undefined,
  options: { scalarsAsText?: boolean } = {},
): Check<Record<string, string>> {
  return (value, path) => {
    if (!isPlainObject(value)) return fail(path, `expected a mapping of strings, got ${describe(value)}`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
      const p = `${path}[${JSON.stringify(k)}]`;
      const kp = key(k);
      if (kp) fail(p, kp);
      let text = v;
      // calicoctl reads an unquoted `rack: 1` or `routeReflector: true` label as the text "1" /
      // "true" (and `x:` with no value as ""); elsewhere Kubernetes requires strings.
      if (options.scalarsAsText && (typeof v === 'number' || typeof v === 'boolean')) text = String(v);
      else if (options.scalarsAsText && v === null) text = '';
      if (typeof text !== 'string') fail(p, `expected a string value, got ${describe(v)} (quote it in YAML)`);
      const vp = val(text as string);
      if (vp) fail(p, vp);
      out[k] = text as string;
    }
    return out;
  };
}
