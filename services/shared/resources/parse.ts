// Resource files: multi-document YAML ("---" separated), JSON (one object or an array), and
// `kind: List` documents with `items:`. Parsing only: `validateResource` checks what comes out.
//
// Limits, checked before any parsing so hostile input fails fast: a document may be at most
// MAX_DOCUMENT_BYTES (4 MiB), a source at most MAX_SOURCE_BYTES (64 MiB); YAML aliases are capped
// (alias bombs) and duplicate keys are errors.

import { isScalar, parseAllDocuments, visit, type Document, type YAMLError } from 'yaml';
import { ResourceError } from './errors.js';

export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
export const MAX_SOURCE_BYTES = 64 * 1024 * 1024;
const MAX_ALIAS_COUNT = 100;

export interface ParsedDocument {
  /** The file name (or "-", or any label) the text came from. */
  source: string;
  /** 1-based document number within the source. */
  index: number;
  /** 1-based position within a `kind: List` document (or a JSON array); absent otherwise. */
  item?: number;
  /** The parsed object, not yet validated. */
  object: Record<string, unknown>;
}

const MiB = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * Parses every resource in `text`. Empty documents are skipped (numbering still counts them the
 * way YAML does). Throws ResourceError naming source, document and line/column.
 */
export function parseDocuments(text: string, source: string): ParsedDocument[] {
  if (typeof text !== 'string') throw new ResourceError('resource text must be a string', { source });
  const total = Buffer.byteLength(text, 'utf8');
  if (total > MAX_SOURCE_BYTES) {
    throw new ResourceError(`${MiB(total)} is larger than the ${MiB(MAX_SOURCE_BYTES)} limit per file`, { source });
  }
  checkDocumentSizes(text, source);

  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let value: unknown;
    let ok = true;
    try {
      value = JSON.parse(text);
    } catch {
      ok = false; // Not plain JSON: the YAML parser below reports the position.
    }
    if (ok) return expand(value, source, 1);
  }

  // The library's own duplicate-key check compares every pair of keys (100,000 keys take minutes),
  // so it is off and findDuplicateKey does the same in one pass.
  const docs = parseAllDocuments(text, { uniqueKeys: false, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: ParsedDocument[] = [];
  list.forEach((doc, i) => {
    const index = i + 1;
    const err = doc.errors[0];
    if (err) throw yamlError(err.message, err.pos[0], text, source, index, err);
    const dup = findDuplicateKey(doc);
    if (dup) throw yamlError(`Map keys must be unique: '${dup.key}' appears twice`, dup.offset, text, source, index);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      throw new ResourceError(`invalid YAML: ${(e as Error).message}`, { source, document: index, cause: e });
    }
    if (value === null || value === undefined) return;
    out.push(...expand(value, source, index));
  });
  return out;
}

function expand(value: unknown, source: string, index: number): ParsedDocument[] {
  if (Array.isArray(value)) return value.map((v, i) => asDocument(v, source, index, i + 1));
  const obj = asDocument(value, source, index, undefined);
  if (obj.object.kind !== 'List') return [obj];
  const items = obj.object.items;
  if (!Array.isArray(items)) {
    throw new ResourceError('a List must have an items array', {
      source,
      document: index,
      kind: 'List',
      field: 'items',
    });
  }
  return items.map((v, i) => asDocument(v, source, index, i + 1));
}

function asDocument(value: unknown, source: string, index: number, item: number | undefined): ParsedDocument {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    throw new ResourceError(`expected a resource (a mapping with apiVersion, kind, metadata and spec), got ${got}`, {
      source,
      document: index,
      ...(item === undefined ? {} : { item }),
    });
  }
  return { source, index, ...(item === undefined ? {} : { item }), object: value as Record<string, unknown> };
}

function findDuplicateKey(doc: Document.Parsed): { key: string; offset: number } | undefined {
  let found: { key: string; offset: number } | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = pair.key;
        const key = isScalar(k) ? String(k.value) : String(k);
        if (seen.has(key)) {
          found = {
            key: key.length > 60 ? `${key.slice(0, 57)}...` : key,
            offset: (isScalar(k) ? k.range?.[0] : undefined) ?? 0,
          };
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}

function yamlError(
  message: string,
  at: number,
  text: string,
  source: string,
  document: number,
  cause?: YAMLError,
): ResourceError {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const offset = Math.min(at, text.length);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return new ResourceError(`invalid YAML at line ${line}, column ${column}: ${first}`, {
    source,
    document,
    ...(cause ? { cause } : {}),
  });
}

/**
 * Measures each "---"-separated document without parsing it, so a 10 MB document is refused in
 * milliseconds. A document marker is "---" or "..." at the start of a line followed by space or
 * end of line (YAML 1.2 §9.1; it ends a document even inside a block scalar).
 */
function checkDocumentSizes(text: string, source: string): void {
  // A UTF-16 code unit takes at most 3 bytes of UTF-8, so short texts need no measuring.
  if (text.length <= MAX_DOCUMENT_BYTES / 3) return;
  const marker = /^(---|\.\.\.)(?=[ \t\r\n]|$)/gm;
  // Every "---" starts a document; other text counts as one only when it has content.
  let start = 0;
  let document = 0;
  let startedBy: string | undefined;
  const measure = (end: number) => {
    const chunk = text.slice(start, end);
    if (startedBy === '---' || /^[ \t]*[^#\s]/m.test(chunk)) document++;
    const bytes = Buffer.byteLength(chunk, 'utf8');
    if (bytes > MAX_DOCUMENT_BYTES) {
      throw new ResourceError(
        `document is ${MiB(bytes)}, larger than the ${MiB(MAX_DOCUMENT_BYTES)} limit per document`,
        {
          source,
          document: Math.max(document, 1),
        },
      );
    }
  };
  for (let m = marker.exec(text); m; m = marker.exec(text)) {
    measure(m.index);
    start = m.index + m[0].length;
    startedBy = m[1];
  }
  measure(text.length);
}
