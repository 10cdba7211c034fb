// The plugin's log: JSON lines appended to `log_file` (synchronously: the process lives for one
// command and must not lose its last line). Without a file, warnings and errors go to stderr,
// which runtimes capture; stdout is reserved for the result.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogLevel } from './config.js';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface CniLog {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createCniLog(
  file: string,
  level: LogLevel,
  base: Record<string, unknown>,
  stderr: { write(s: string): unknown },
): CniLog {
  let dirReady = false;
  const write = (l: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[l] < RANK[level]) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level: l, ...base, ...fields, msg }) + '\n';
    if (!file) {
      if (RANK[l] >= RANK.warn) stderr.write(line);
      return;
    }
    try {
      if (!dirReady) mkdirSync(dirname(file), { recursive: true });
      dirReady = true;
      appendFileSync(file, line);
    } catch {
      stderr.write(line);
    }
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
