// A service's state directory must be usable before the service says it started: a read-only or
// full disk found later leaves a process that looks alive (/livez ok) and never makes progress.
import { closeSync, fsyncSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** What an errno means for a state directory, in the operator's words. */
const MEANINGS: Record<string, string> = {
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full (no space left on device)',
  EDQUOT: 'the disk quota is exhausted',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a path component is not a directory',
  EIO: 'input/output error (a failing disk, or a full one on some file systems)',
};

export class StateDirError extends Error {
  constructor(
    readonly dir: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(`state directory ${dir} is not usable: ${MEANINGS[code] ?? code}`, options);
    this.name = 'StateDirError';
  }
}

/** Creates `dir` when missing and writes, syncs and removes a small file in it; StateDirError otherwise. */
export function checkStateDir(dir: string): void {
  const probe = join(dir, `.meshless-write-check-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    const fd = openSync(probe, 'w');
    try {
      writeSync(fd, Buffer.alloc(4096));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
  } catch (err) {
    throw new StateDirError(dir, (err as NodeJS.ErrnoException).code ?? 'unknown error', { cause: err });
  }
}

/** The operator's words for a storage errno (for errors met after start), or undefined. */
export function storageErrorMeaning(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code ? MEANINGS[code] : undefined;
}
