// The executables' entry: `meshless-cni` and `meshless-ipam` (bin/ launchers, or `meshless cni
// plugin|ipam`). The runtime gives the command in CNI_COMMAND, the network configuration on
// stdin, and reads the result or a CNI error (JSON) from stdout; the exit status is 0 or 1.
// Nothing else is ever printed on stdout, and never a stack trace: an unexpected failure is a
// CNI error with code 999 whose stack goes to the log file.
import type { Readable } from 'node:stream';
import { parseNetConfig, parseEnv, SUPPORTED_VERSIONS, type NetConfig } from './config.js';
import { CniCode, CniError } from './errors.js';
import { ipamAdd, ipamCheck, ipamDel } from './ipam.js';
import { createCniLog, type CniLog } from './log.js';
import { cmdAdd, cmdCheck, cmdDel, cmdGc, cmdStatus } from './plugin.js';
import { formatResult, parseResult } from './result.js';

export type Executable = 'cni' | 'ipam';

export interface CniIo {
  stdin: Readable;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs one CNI command; resolves to the exit status. */
export async function main(
  kind: Executable,
  io: CniIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  let version = '1.0.0';
  let log: CniLog | undefined;
  try {
    const command = io.env.CNI_COMMAND ?? '';
    const text = await readAll(io.stdin);
    if (command === 'VERSION') {
      // The configuration may be absent or partial here; only cniVersion is read.
      const asked = tryVersion(text);
      io.stdout.write(JSON.stringify({ cniVersion: asked ?? '1.0.0', supportedVersions: SUPPORTED_VERSIONS }) + '\n');
      return 0;
    }
    version = tryVersion(text) ?? version;
    const conf = parseNetConfig(text, io.env);
    version = conf.cniVersion;
    log = createCniLog(
      conf.logFile,
      conf.logLevel,
      { plugin: kind === 'cni' ? 'meshless-cni' : 'meshless-ipam', command, container: io.env.CNI_CONTAINERID },
      io.stderr,
    );
    const out = await dispatch(kind, command, conf, io.env, log);
    if (out !== undefined) io.stdout.write(JSON.stringify(out) + '\n');
    return 0;
  } catch (err) {
    const e =
      err instanceof CniError ? err : new CniError(999, `internal error: ${(err as Error)?.message ?? String(err)}`);
    log?.error(e.message, {
      code: e.code,
      details: e.details,
      ...(err instanceof CniError ? {} : { stack: (err as Error)?.stack }),
    });
    io.stdout.write(JSON.stringify(e.toJson(version)) + '\n');
    return 1;
  }
}

function tryVersion(text: string): string | undefined {
  try {
    const v = (JSON.parse(text) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

async function dispatch(
  kind: Executable,
  command: string,
  conf: NetConfig,
  env: NodeJS.ProcessEnv,
  log: CniLog,
): Promise<unknown> {
  switch (command) {
    case 'ADD': {
      const e = parseEnv(env, kind === 'cni');
      const result = kind === 'cni' ? await cmdAdd(conf, e, env, log) : await ipamAdd(conf, e);
      return formatResult(result, conf.cniVersion);
    }
    case 'DEL': {
      const e = parseEnv(env, false);
      if (kind === 'cni') await cmdDel(conf, e, env, log);
      else await ipamDel(conf, e);
      return undefined;
    }
    case 'CHECK': {
      const e = parseEnv(env, true);
      if (kind === 'cni') await cmdCheck(conf, e, env);
      else await ipamCheck(conf, e, parseResult(conf.prevResult, 'prevResult'));
      return undefined;
    }
    case 'STATUS':
      await cmdStatus(conf);
      return undefined;
    case 'GC':
      if (kind === 'cni') await cmdGc(conf, log);
      return undefined;
    default:
      throw new CniError(
        CniCode.InvalidEnvironment,
        `CNI_COMMAND: '${command}' is not one of ADD, DEL, CHECK, VERSION, STATUS, GC`,
      );
  }
}
