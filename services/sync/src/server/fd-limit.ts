// Every stream is a socket, i.e. a file descriptor: a maxConnections above the process's open-file
// limit would let accept() fail with EMFILE, which wedges the listener (and the metrics endpoint)
// instead of sending the extra clients elsewhere. The cap leaves room for the descriptors the
// process needs besides streams (NATS, LMDB, metrics, logs).
import { readFileSync } from 'node:fs';
import type { Logger } from '../../../shared/log/index.js';

/** Descriptors kept for everything that is not a stream. */
export const RESERVED_FDS = 256;

/** The soft open-file limit (Linux /proc/self/limits), or undefined when unknown or unlimited. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
}

/** maxConnections, lowered (with a warning naming the fix) when the open-file limit is below it. */
export function connectionCap(maxConnections: number, fileLimit: number | undefined, log?: Logger): number {
  if (fileLimit === undefined || maxConnections <= fileLimit - RESERVED_FDS) return maxConnections;
  const cap = Math.max(1, fileLimit - RESERVED_FDS);
  log?.warn(
    { maxConnections, openFileLimit: fileLimit, cap },
    `maxConnections ${maxConnections} exceeds what the open-file limit (${fileLimit}) allows; accepting ${cap} streams (raise it with ulimit -n / LimitNOFILE)`,
  );
  return cap;
}
