export {
  ROLES,
  IDENTITY_URI_SCHEME,
  checkIdentityName,
  isRole,
  identityUri,
  identityFromSubjectAltName,
  describeIdentity,
} from './identity.js';
export type { Role, Identity } from './identity.js';
export { CA_FILE, CERT_FILE, KEY_FILE, TlsConfigError, checkCredentials } from './files.js';
export type { TlsFiles, CredentialPaths } from './files.js';
export { DEFAULT_REFRESH_MS, serverSecurity, clientChannel, describeCaller } from './credentials.js';
export type { ServerTlsSettings, ServerSecurity, Caller, ClientChannel } from './credentials.js';
export { defaultCredentialsDir, resolveClientCredentials } from './discover.js';
export type { ResolvedCredentials } from './discover.js';
export { createCa, issueCertificate, writeCredentials, daysLeft, writeCa, readCa, CA_KEY_FILE } from './pki.js';
export type { PemPair, IssueOptions } from './pki.js';
export { serverTlsSpec } from './config-spec.js';
