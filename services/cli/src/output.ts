// `-o yaml` and `-o json` as calicoctl prints them, so the output can be fed back into
// `meshless apply` or `replace`:
//  - one named resource: the resource itself;
//  - a listing: calicoctl's list object `{apiVersion, kind: <Kind>List, metadata: {resourceVersion},
//    items}` (the store revision the list reflects), even with zero or one item.
// YAML keys are sorted at every level, as calicoctl's sigs.k8s.io/yaml (JSON → YAML) sorts them;
// strings that YAML 1.1 would read as booleans, numbers or timestamps are quoted;
// JSON keeps the document's own order and is indented by two spaces.
import { API_VERSION, type Kind, type Resource } from '../../shared/resources/index.js';
import { loadYaml } from './yaml.js';

export type OutputFormat = 'ps' | 'wide' | 'yaml' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['ps', 'wide', 'yaml', 'json'];

export interface ResourceList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string };
  items: Resource[];
}

export function listObject(kind: Kind, items: Resource[], revision: number): ResourceList {
  return { apiVersion: API_VERSION, kind: `${kind}List`, metadata: { resourceVersion: String(revision) }, items };
}

/**
 * The `-o yaml` printer. The yaml package (~260 KB compiled) is imported here, when a command
 * prints YAML, not by every `meshless` start: `--help` and a table listing never need it.
 */
export async function yamlPrinter(): Promise<(value: Resource | ResourceList) => string> {
  const { stringify } = await loadYaml();
  // YAML 1.1 scalar rules quote every string a YAML 1.1 reader (go-yaml v2, PyYAML) would turn into
  // something else ("yes", "on", timestamps); sequences sit at their key's indent, as go-yaml does.
  return (value) =>
    stringify(value, {
      sortMapEntries: true,
      lineWidth: 0,
      aliasDuplicateObjects: false,
      indentSeq: false,
      schema: 'yaml-1.1',
    });
}

export function toJson(value: Resource | ResourceList): string {
  return JSON.stringify(value, null, 2) + '\n';
}
