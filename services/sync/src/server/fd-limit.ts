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

/**
 * maxConnections, lowered (with a warning naming the fix) when the open-file limit is below it.
 * With `workers` > 1 worker processes hold the streams, each under its own limit (the main
 * process hands every accepted socket on and closes its copy), so the cap is one process's room
 * times the workers: 20,000 streams on one server need two workers where the limit is 20,000.
 */
export function connectionCap(
  maxConnections: number,
  fileLimit: number | undefined,
  log?: Logger,
  workers = 1,
): number {
  const room = fileLimit === undefined ? Infinity : Math.max(1, fileLimit - RESERVED_FDS) * Math.max(1, workers);
  if (maxConnections <= room) return maxConnections;
  log?.warn(
    { maxConnections, openFileLimit: fileLimit, workers, cap: room },
    `maxConnections ${maxConnections} exceeds what the open-file limit (${fileLimit}${workers > 1 ? ` per process, ${workers} worker processes` : ''}) allows; accepting ${room} streams (raise it with ulimit -n / LimitNOFILE)`,
  );
  return room;
}
