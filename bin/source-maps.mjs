// Stack traces through the compiled bundles (dist/) that point at the TypeScript lines, at no cost
// until a trace is formatted. Node's own support (process.setSourceMapsEnabled, --enable-source-maps)
// reads and parses every loaded bundle's .map at load time, and Node 20 also splits every bundle's
// source into lines for it: a CPU profile of `meshless agent` had #parseMap, lineLengths and their
// garbage among its largest entries (~0.02 CPU-s of a start measured without the profiler), spent
// again in every process although most never format a stack. Here a frame is mapped when
// V8 formats an error's stack (Error.prepareStackTrace), and a bundle's map is read the first time
// one of its frames is: a process that logs no stack never reads a map.
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Maps the frames of files whose URL starts with `prefix` (the dist/ directory's file: URL). */
export function installLazySourceMaps(prefix) {
  /** @type {Map<string, SourceMap | null>} bundle URL -> its parsed map (null: none or unreadable) */
  const maps = new Map();
  const mapOf = (url) => {
    let map = maps.get(url);
    if (map !== undefined) return map;
    map = null;
    try {
      map = new SourceMap(JSON.parse(readFileSync(fileURLToPath(`${url}.map`), 'utf8')));
    } catch {}
    maps.set(url, map);
    return map;
  };

  const mapFrame = (frame) => {
    const text = String(frame);
    const url = frame.getFileName();
    if (!url?.startsWith(prefix)) return text;
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    const map = line && column ? mapOf(url) : null;
    // findEntry takes and returns 0-based lines and columns; an unmapped position (a bundled npm
    // package: infra/build.mjs leaves those out of the maps) gives no originalSource.
    const entry = map?.findEntry(line - 1, column - 1);
    if (!entry?.originalSource) return text;
    const source = new URL(entry.originalSource, url).href;
    const where = `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    const location = `${url}:${line}:${column}`;
    return text.includes(location) ? text.replace(location, where) : `${text} [${where}]`;
  };

  Error.prepareStackTrace = (error, frames) => {
    let head;
    try {
      head = Error.prototype.toString.call(error);
    } catch {
      head = '<error>';
    }
    if (frames.length === 0) return head;
    const lines = frames.map((frame) => {
      try {
        return mapFrame(frame);
      } catch {
        return String(frame);
      }
    });
    return `${head}\n    at ${lines.join('\n    at ')}`;
  };
}
