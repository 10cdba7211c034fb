// Reading `-f FILE|DIR|-` into named texts. A directory contributes every *.yaml, *.yml and *.json
// directly inside it, sorted by name (calicoctl without -R); `-` is standard input. Nothing is
// parsed here: see load.ts.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CliError } from './failure.js';

export interface Source {
  /** The path as the user wrote it (joined with the directory for directory entries), or "-". */
  name: string;
  text: string;
}

/** The name standard input goes by in messages, as in calicoctl (`-f -`). */
export const STDIN_SOURCE = '-';
const RESOURCE_FILE = /\.(ya?ml|json)$/i;
/** Input larger than this is refused before it is read (no resource file is anywhere near it). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return e.message ?? String(err);
  }
}

function tooLarge(name: string, bytes: number): CliError {
  return new CliError(
    `${name === STDIN_SOURCE ? 'standard input' : name}: input is ${(bytes / 1024 / 1024).toFixed(1)} MB, more than the ${MAX_INPUT_BYTES / 1024 / 1024} MB limit`,
  );
}

async function readStdin(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += b.length;
    if (total > MAX_INPUT_BYTES) throw tooLarge(STDIN_SOURCE, total);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readOne(path: string): Promise<string> {
  const info = await stat(path);
  if (info.size > MAX_INPUT_BYTES) throw tooLarge(path, info.size);
  return readFile(path, 'utf8');
}

/** Resource files under `dir`, sorted; with `recursive`, its subdirectories' too (calicoctl -R). */
async function resourceFiles(dir: string, recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const d of entries) {
    if ((d.isFile() || d.isSymbolicLink()) && RESOURCE_FILE.test(d.name)) out.push(join(dir, d.name));
    else if (recursive && d.isDirectory()) out.push(...(await resourceFiles(join(dir, d.name), true)));
  }
  return out;
}

/**
 * Reads every `-f` argument in order; a missing or unreadable path stops everything. With
 * `recursive`, directories contribute the files of their subdirectories too.
 */
export async function readSources(
  paths: readonly string[],
  stdin: Readable,
  options: { recursive?: boolean } = {},
): Promise<Source[]> {
  if (paths.length === 0) throw new CliError('no input: give at least one -f FILE, -f DIR or -f - (standard input)');
  const out: Source[] = [];
  let stdinUsed = false;
  for (const path of paths) {
    if (path === '-') {
      if (stdinUsed) throw new CliError('-f - (standard input) may be given only once');
      stdinUsed = true;
      out.push({ name: STDIN_SOURCE, text: await readStdin(stdin) });
      continue;
    }
    let isDir: boolean;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch (err) {
      throw new CliError(`cannot read ${path}: ${describe(err)}`, { cause: err });
    }
    if (!isDir) {
      try {
        out.push({ name: path, text: await readOne(path) });
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`cannot read ${path}: ${describe(err)}`, { cause: err });
      }
      continue;
    }
    let entries: string[];
    try {
      entries = await resourceFiles(path, options.recursive === true);
    } catch (err) {
      throw new CliError(`cannot read directory ${path}: ${describe(err)}`, { cause: err });
    }
    if (entries.length === 0)
      throw new CliError(`no resources specified in directory ${path} (it has no .yaml, .yml or .json file)`);
    for (const file of entries) {
      try {
        out.push({ name: file, text: await readOne(file) });
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`cannot read ${file}: ${describe(err)}`, { cause: err });
      }
    }
  }
  return out;
}
