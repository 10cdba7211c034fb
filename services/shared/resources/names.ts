// Kubernetes name rules (k8s.io/apimachinery validation): resource names, namespaces, label keys
// and values, annotation keys. Each check returns the problem as text, or undefined when valid.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
export const LABEL_VALUE_MAX = 63;
/** Kubernetes' limit on the total size of an object's annotations (keys + values). */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

const show = (s: string) => (s.length > 70 ? `'${s.slice(0, 67)}...'` : `'${s}'`);

/** DNS-1123 subdomain: lower case alphanumerics, '-' and '.', at most 253 characters. */
export function checkDns1123Subdomain(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > DNS1123_SUBDOMAIN_MAX)
    return `${show(name)} is longer than ${DNS1123_SUBDOMAIN_MAX} characters (${name.length})`;
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return `${show(name)} is not a valid name: use lower case letters, digits, '-' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** DNS-1123 label: lower case alphanumerics and '-', at most 63 characters. */
export function checkDns1123Label(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > DNS1123_LABEL_MAX)
    return `${show(name)} is longer than ${DNS1123_LABEL_MAX} characters (${name.length})`;
  if (!DNS1123_LABEL.test(name)) {
    return `${show(name)} is not a valid DNS-1123 label: use lower case letters, digits and '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** A label or annotation key: `[prefix/]name`, prefix a DNS-1123 subdomain, name at most 63. */
export function checkLabelKey(key: string): string | undefined {
  if (key.length === 0) return 'key must not be empty';
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0) return `key ${show(key)} has an empty prefix before '/'`;
    if (prefix.length > DNS1123_SUBDOMAIN_MAX || !DNS1123_SUBDOMAIN.test(prefix)) {
      return `key ${show(key)}: prefix must be a DNS-1123 subdomain (lower case letters, digits, '-' and '.')`;
    }
  }
  if (name.length === 0) return `key ${show(key)} has an empty name`;
  if (name.length > 63) return `key ${show(key)}: name part is longer than 63 characters`;
  if (!QUALIFIED_NAME_PART.test(name)) {
    return `key ${show(key)}: name part must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** A label value: empty, or at most 63 letters, digits, '-', '_', '.', alphanumeric at both ends. */
export function checkLabelValue(value: string): string | undefined {
  if (value.length > LABEL_VALUE_MAX) return `value ${show(value)} is longer than ${LABEL_VALUE_MAX} characters`;
  if (!LABEL_VALUE.test(value)) {
    return `value ${show(value)} must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}
