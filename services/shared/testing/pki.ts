// A throw-away CA for tests: issue(role, name) writes a credentials directory signed by it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCa,
  issueCertificate,
  writeCredentials,
  type IssueOptions,
  type PemPair,
  type Role,
} from '../tls/index.js';

export interface TestPki {
  readonly dir: string;
  readonly ca: PemPair;
  /** A credentials directory for role/name (options: validity window, hosts). */
  issue(role: Role, name: string, options?: Omit<IssueOptions, 'identity'>): Promise<string>;
  remove(): void;
}

export async function createTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'meshless-test-pki-'));
  const ca = await createCa({ name: 'test-ca', days: 2 });
  let n = 0;
  return {
    dir,
    ca,
    async issue(role, name, options = {}) {
      const out = join(dir, `${role}-${name}-${n++}`);
      const issued = await issueCertificate(ca, { identity: { role, name }, days: 2, ...options });
      writeCredentials(out, { ca: ca.cert, cert: issued.cert, key: issued.key });
      return out;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
