// Delegation to another plugin (CNI spec 1.0.0 "Delegated plugin protocol"): the plugin is found
// by its `type` in CNI_PATH and executed with the same environment (CNI_COMMAND as given) and the
// same network configuration on stdin; its result (or error) comes back on stdout.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError } from './errors.js';
import { parseResult, type CniResult } from './result.js';

export async function delegate(
  type: string,
  command: string,
  conf: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  paths: string[],
): Promise<CniResult | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(type))
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      `network configuration: ipam.type: '${type}' is not a plugin name`,
    );
  const file = paths.map((p) => join(p, type)).find((p) => existsSync(p));
  if (!file)
    throw new CniError(
      CniCode.InvalidEnvironment,
      `IPAM plugin '${type}' not found in CNI_PATH (${paths.join(':') || 'empty'})`,
    );
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      file,
      [],
      { env: { ...env, CNI_COMMAND: command }, encoding: 'utf8', timeout: 60_000 },
      (err, out, errOut) => resolve({ code: err ? 1 : 0, stdout: out, stderr: errOut }),
    );
    child.stdin!.end(JSON.stringify(conf));
  });
  let parsed: unknown;
  try {
    parsed = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    throw new CniError(
      CniCode.Delegate,
      `IPAM plugin '${type}' printed something that is not JSON`,
      (stdout + stderr).slice(0, 500),
    );
  }
  if (code !== 0) {
    const e = parsed as { code?: number; msg?: string; details?: string } | undefined;
    throw new CniError(
      typeof e?.code === 'number' ? e.code : CniCode.Delegate,
      `IPAM plugin '${type}': ${e?.msg ?? (stderr.trim() || 'failed')}`,
      e?.details ?? '',
    );
  }
  return command === 'ADD' ? parseResult(parsed, `the result of IPAM plugin '${type}'`) : undefined;
}
