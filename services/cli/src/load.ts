// From named texts to validated resources, all of them before anything is sent: the first bad
// document stops the command with a message naming file, document, kind, name and field.
// Expands `kind: List` (done by parseDocuments) and calicoctl's typed lists (`kind: IPPoolList`,
// what `meshless get ippools -o yaml` prints) into their items.
import {
  isNamespaced,
  kindInfo,
  parseDocuments,
  resolveKind,
  resourceWarnings,
  ResourceError,
  validateResource,
  type Resource,
} from '../../shared/resources/index.js';
import { CliError } from './failure.js';
import { STDIN_SOURCE, type Source } from './files.js';

export interface LoadedResource {
  resource: Resource;
  /** `pools.yaml document 2`, for messages about this resource. */
  where: string;
  /** Remarks about a valid document (`spec.asNumber: is not set: ...`), printed as warnings. */
  warnings?: string[];
}

export interface LoadOptions {
  /** -n: the namespace of namespaced resources that name none; a different one is an error. */
  namespace?: string;
}

interface RawDocument {
  source: string;
  index: number;
  object: Record<string, unknown>;
}

/** `IPPoolList` → its items; anything else as it is. */
function expandTypedList(doc: RawDocument): RawDocument[] {
  const kind = doc.object.kind;
  if (typeof kind !== 'string' || !kind.endsWith('List') || kind === 'List') return [doc];
  const itemKind = resolveKind(kind.slice(0, -'List'.length));
  if (!itemKind || itemKind !== kind.slice(0, -'List'.length)) return [doc];
  const items = doc.object.items;
  if (!Array.isArray(items)) {
    throw new ResourceError(`a ${kind} must have an items array`, {
      source: doc.source,
      document: doc.index,
      kind,
      field: 'items',
    });
  }
  return items.map((item) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new ResourceError(`every item of a ${kind} must be a ${itemKind} mapping`, {
        source: doc.source,
        document: doc.index,
        kind,
        field: 'items',
      });
    }
    return { ...doc, object: item as Record<string, unknown> };
  });
}

function applyNamespace(doc: RawDocument, namespace: string | undefined): void {
  if (namespace === undefined) return;
  const kind = typeof doc.object.kind === 'string' ? resolveKind(doc.object.kind) : undefined;
  if (!kind || kind !== doc.object.kind || !isNamespaced(kind)) return;
  const meta = doc.object.metadata;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return; // validation reports it
  const m = meta as Record<string, unknown>;
  if (m.namespace === undefined || m.namespace === '') {
    doc.object = { ...doc.object, metadata: { ...m, namespace } };
  } else if (m.namespace !== namespace) {
    throw new ResourceError(`namespace '${String(m.namespace)}' does not match -n ${namespace}`, {
      source: doc.source,
      document: doc.index,
      kind,
      ...(typeof m.name === 'string' ? { name: m.name } : {}),
      field: 'metadata.namespace',
    });
  }
}

export function loadResources(sources: readonly Source[], options: LoadOptions = {}): LoadedResource[] {
  const out: LoadedResource[] = [];
  for (const source of sources) {
    const before = out.length;
    for (const parsed of parseDocuments(source.text, source.name)) {
      for (const doc of expandTypedList({ source: parsed.source, index: parsed.index, object: parsed.object })) {
        applyNamespace(doc, options.namespace);
        const resource = validateResource(doc.object, { source: doc.source, document: doc.index });
        const warnings = resourceWarnings(resource).map((w) => `${w.field}: ${w.message}`);
        out.push({ resource, where: `${doc.source} document ${doc.index}`, ...(warnings.length ? { warnings } : {}) });
      }
    }
    if (out.length === before)
      throw new CliError(`no resources specified in ${source.name === STDIN_SOURCE ? 'standard input' : source.name}`);
  }
  return out;
}

/** A field of a mapping by name in any case (Calico's decoder matches field names so). */
function field(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

/**
 * What `delete -f` needs from each document: kind, name and (for namespaced kinds) namespace,
 * as calicoctl reads them; the rest of the document is not checked, so a file that no longer
 * validates (or was written for another Calico version) can still delete what it created.
 */
export function loadIdentities(sources: readonly Source[], options: LoadOptions = {}): LoadedResource[] {
  const out: LoadedResource[] = [];
  for (const source of sources) {
    const before = out.length;
    for (const parsed of parseDocuments(source.text, source.name)) {
      for (const doc of expandTypedList({ source: parsed.source, index: parsed.index, object: parsed.object })) {
        const where = { source: doc.source, document: doc.index };
        const kindText = field(doc.object, 'kind');
        const info =
          typeof kindText === 'string' ? (kindInfo(kindText) ?? kindInfo(resolveKind(kindText) ?? '')) : undefined;
        if (!info)
          throw new ResourceError(
            `kind: ${typeof kindText === 'string' ? `unknown kind '${kindText}'` : 'is required'}`,
            { ...where, field: 'kind' },
          );
        const meta = field(doc.object, 'metadata');
        const m =
          meta !== null && typeof meta === 'object' && !Array.isArray(meta) ? (meta as Record<string, unknown>) : {};
        const name = field(m, 'name');
        if (typeof name !== 'string' || name === '')
          throw new ResourceError('metadata.name: is required', { ...where, kind: info.kind, field: 'metadata.name' });
        const given = field(m, 'namespace');
        let namespace: string | undefined;
        if (info.namespaced) {
          namespace = typeof given === 'string' && given !== '' ? given : (options.namespace ?? 'default');
          if (options.namespace !== undefined && namespace !== options.namespace) {
            throw new ResourceError(`namespace '${namespace}' does not match -n ${options.namespace}`, {
              ...where,
              kind: info.kind,
              name,
              field: 'metadata.namespace',
            });
          }
        }
        const resource = {
          kind: info.kind,
          metadata: namespace === undefined ? { name } : { name, namespace },
        } as Resource;
        out.push({ resource, where: `${doc.source} document ${doc.index}` });
      }
    }
    if (out.length === before)
      throw new CliError(`no resources specified in ${source.name === STDIN_SOURCE ? 'standard input' : source.name}`);
  }
  return out;
}
