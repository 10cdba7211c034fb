// Command-line flags of the benchmarks, one way for all: `--help` prints the usage and exits 0;
// an unknown flag, a missing value or a malformed number prints the error and the usage on stderr
// and exits 2, before anything starts (a typo must never run a 10-minute benchmark with defaults).
// Every benchmark also takes `--report FILE.html` (loadtest/report): added here, with its usage
// line, so none can miss it; its directory is checked before the run, not after it.
import { parseArgs } from 'node:util';
import { checkReportPath } from './report/index.js';

type Spec = Record<string, { type: 'string' | 'boolean'; default?: string | boolean; short?: string }>;
type Values<S extends Spec> = { [K in keyof S]: S[K]['type'] extends 'boolean' ? boolean : string };

export interface BenchArgs<S extends Spec> {
  values: Values<S>;
  /** The flag's value as an integer in [min, max]; exits 2 naming the flag otherwise. */
  int(name: keyof S & string, min?: number, max?: number): number;
  /** Exits 2 with `--name: message` and the usage. */
  fail(message: string): never;
  /** --report FILE.html, or undefined. */
  report: string | undefined;
}

const REPORT_USAGE =
  '  --report FILE.html    also write a self-contained HTML report of the run (plots, machine, load)';

export function benchArgs<S extends Spec>(
  name: string,
  usageText: string,
  spec: S,
  argv = process.argv.slice(2),
): BenchArgs<S> {
  const usage = `${usageText.trimEnd()}\n${REPORT_USAGE}`;
  const fail = (message: string): never => {
    process.stderr.write(`${name}: ${message}\n\n${usage.trimEnd()}\n`);
    process.exit(2);
  };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        ...spec,
        report: { type: 'string', default: '' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exit(0);
  }
  const report = String(values.report ?? '');
  const unwritable = checkReportPath(report);
  if (unwritable) fail(unwritable);
  return {
    values: values as Values<S>,
    fail,
    report: report || undefined,
    int(flag, min = 0, max = Number.MAX_SAFE_INTEGER) {
      const raw = String(values[flag]);
      const v = Number(raw);
      if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < min || v > max)
        fail(`--${flag}: expected an integer ${min}-${max}, got '${raw}'`);
      return v;
    },
  };
}
