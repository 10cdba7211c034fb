// Turning request fields into checked domain values. Every problem is an InvalidArgumentError
// whose `field` is the proto field name (or, inside a resource document, the document's field
// path), so the client sees which one to fix.
import { InvalidArgumentError, ResourceExhaustedError } from '../../../shared/errors/index.js';
import {
  checkDns1123Label,
  checkDns1123Subdomain,
  isNamespaced,
  KINDS,
  parseLabelSelector,
  resolveKind,
  validateResource,
  type Kind,
  type LabelSelector,
} from '../../../shared/resources/index.js';
import type { ResourceDocument } from '../store/index.js';

/** The resource document of a write request, validated and normalized, and the revision it carried. */
export interface WriteInput {
  document: ResourceDocument;
  /** metadata.resourceVersion from the document, when present. */
  documentRevision: number | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `converted`: a controller's write of converted resources (Access.converted). */
export function parseDocument(json: Uint8Array, maxBytes: number, converted = false): WriteInput {
  if (json.length === 0)
    throw new InvalidArgumentError('json: is required: the resource document as UTF-8 JSON', { field: 'json' });
  if (json.length > maxBytes) {
    throw new ResourceExhaustedError(
      `json: the document is ${json.length} bytes; the datastore stores at most ${maxBytes} bytes per resource`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(json);
  } catch {
    throw new InvalidArgumentError('json: is not valid UTF-8', { field: 'json' });
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`json: is not valid JSON (${(err as Error).message})`, { field: 'json' });
  }
  const documentRevision = revisionOf(obj);
  const document = validateResource(obj, { source: 'request', converted }) as unknown as ResourceDocument;
  return { document, documentRevision };
}

function revisionOf(obj: unknown): number | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const rv = (meta as { resourceVersion?: unknown }).resourceVersion;
  if (rv === undefined || rv === null || rv === '') return undefined;
  const text = typeof rv === 'number' ? String(rv) : rv;
  if (typeof text !== 'string' || !/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError(
      `metadata.resourceVersion: ${JSON.stringify(rv)} is not a revision (a positive decimal number)`,
      {
        field: 'metadata.resourceVersion',
      },
    );
  }
  return Number(text);
}

export function requireKind(text: string, field = 'kind'): Kind {
  if (text === '')
    throw new InvalidArgumentError(`${field}: is required (one of ${KINDS.map((k) => k.kind).join(', ')})`, { field });
  const kind = resolveKind(text);
  if (!kind) {
    throw new InvalidArgumentError(
      `${field}: unknown kind '${text.slice(0, 80)}' (known kinds: ${KINDS.map((k) => k.kind).join(', ')})`,
      { field },
    );
  }
  return kind;
}

export function requireName(text: string, field = 'name'): string {
  if (text === '') throw new InvalidArgumentError(`${field}: is required`, { field });
  const problem = checkDns1123Subdomain(text);
  if (problem) throw new InvalidArgumentError(`${field}: '${text.slice(0, 80)}' ${problem}`, { field });
  return text;
}

/** The namespace for one resource: "default" for namespaced kinds when empty, "" for cluster-scoped kinds. */
export function namespaceFor(kind: Kind, text: string, field = 'namespace'): string {
  if (!isNamespaced(kind)) return '';
  return checkNamespace(text || 'default', field);
}

/** The namespace filter of a List: empty = all namespaces. */
export function namespaceFilter(kind: Kind, text: string, field = 'namespace'): string {
  if (!isNamespaced(kind) || text === '') return '';
  return checkNamespace(text, field);
}

function checkNamespace(text: string, field: string): string {
  const problem = checkDns1123Label(text);
  if (problem) throw new InvalidArgumentError(`${field}: '${text.slice(0, 80)}' ${problem}`, { field });
  return text;
}

export function labelSelector(text: string, field = 'label_selector'): LabelSelector | undefined {
  if (text.trim() === '') return undefined;
  try {
    return parseLabelSelector(text);
  } catch (err) {
    throw new InvalidArgumentError(`${field}: ${(err as Error).message}`, { field, cause: err });
  }
}

/** 0 = none. */
export function optionalRevision(value: number): number | undefined {
  return value === 0 ? undefined : value;
}

export function ipVersion(value: number, field = 'ip_version'): 4 | 6 {
  if (value === 0 || value === 4) return 4;
  if (value === 6) return 6;
  throw new InvalidArgumentError(`${field}: must be 4 or 6 (or 0 for 4), got ${value}`, { field });
}
