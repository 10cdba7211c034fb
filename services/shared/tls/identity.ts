// Who a peer is, as its certificate says: a role and a name, carried in a URI subject alternative
// name `meshless://ROLE/NAME` (the CN repeats the name for humans and for tools that show only
// the subject). Calico's Typha checks the client certificate's CN or URI SAN the same way; a URI
// SAN was preferred to an OU/CN pair because it is one value, typed, and never confused with a
// host name by a TLS stack that checks host names.
//
// For a node the name is the node's name: the sync server and the datastore take the node from
// here, never from the request.

/** Every role a certificate can carry. Servers have one too (datastore, sync-server, reflector, nats). */
export const ROLES = [
  'admin',
  'node',
  'reflector',
  'sync-server',
  'controller',
  'read-only',
  'datastore',
  'nats',
] as const;
export type Role = (typeof ROLES)[number];

export interface Identity {
  readonly role: Role;
  /** The node's name for `node` and `reflector`; any DNS-style name for the other roles. */
  readonly name: string;
}

export const IDENTITY_URI_SCHEME = 'meshless';

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Why `name` cannot be an identity name, or undefined when it can. */
export function checkIdentityName(name: string): string | undefined {
  if (name.length === 0 || name.length > 253 || !NAME.test(name))
    return `'${name}' is not a valid name (lower-case letters, digits, '-' and '.', at most 253)`;
  return undefined;
}

export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}

export function identityUri(id: Identity): string {
  return `${IDENTITY_URI_SCHEME}://${id.role}/${id.name}`;
}

/**
 * The identity in a certificate's subjectAltName as Node prints it (`URI:meshless://node/n1,
 * DNS:x`), or undefined when it holds none or more than one (an ambiguous certificate is no
 * identity at all).
 */
export function identityFromSubjectAltName(san: string | undefined): Identity | undefined {
  if (!san) return undefined;
  const found: Identity[] = [];
  for (const part of san.split(/,\s*/)) {
    const m = /^URI:meshless:\/\/([a-z-]+)\/([^/\s]+)$/.exec(part.trim());
    if (m && isRole(m[1]!) && checkIdentityName(m[2]!) === undefined) found.push({ role: m[1], name: m[2]! });
  }
  return found.length === 1 ? found[0] : undefined;
}

export function describeIdentity(id: Identity | undefined): string {
  return id ? `${id.role} '${id.name}'` : 'an anonymous client';
}
