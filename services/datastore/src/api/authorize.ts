// What each role may do through the datastore API, from the caller's certificate (shared/tls).
// One table; the server asks it before every request and filters what owner-scoped roles read.
//
//   role         read (Get/List/Watch)        write (Create/Update/Apply/Delete)      IPAM
//   admin        everything                   everything                              all
//   read-only    everything                   nothing                                 show
//   sync-server  everything                   nothing                                 show
//   controller   everything                   Node, Profile, (Global)NetworkPolicy,   show, release
//                                             WorkloadEndpoint, HostEndpoint
//   node         its own Node and WEPs        its own WorkloadEndpoints               allocate/release its own blocks
//   reflector    its own LearnedRoutes        its own LearnedRoutes                   none
//   datastore    nothing (server identities: datastore, nats)
//
// "Own" is the owner field of the document (WorkloadEndpoint spec.node, LearnedRoute
// spec.learnedBy, Node metadata.name) compared with the certificate's name. Owner-scoped roles
// cannot Watch (node agents and reflectors follow the sync servers instead). A write is checked
// against both the new document and the stored one, so a node can neither create a WEP for
// another node nor take one over. The check of the stored document and the write are two steps:
// a concurrent change between them by someone allowed to make it is not re-checked.
import { PermissionDeniedError } from '../../../shared/errors/index.js';
import { describeCaller, type Caller, type Identity, type Role } from '../../../shared/tls/index.js';

export type Method =
  | 'Create'
  | 'Update'
  | 'Apply'
  | 'Delete'
  | 'Get'
  | 'List'
  | 'Watch'
  | 'AllocateBlock'
  | 'ReleaseBlocks'
  | 'IpamShow';

interface Rule {
  read: 'all' | readonly string[];
  write: 'all' | readonly string[];
  /** Reads and writes limited to documents the caller owns. */
  owned: boolean;
  ipam: { show: boolean; allocate: 'all' | 'own' | 'none'; release: 'all' | 'own' | 'none' };
}

const NONE = { show: false, allocate: 'none', release: 'none' } as const;
const SHOW = { show: true, allocate: 'none', release: 'none' } as const;

const RULES: Record<Role, Rule> = {
  admin: { read: 'all', write: 'all', owned: false, ipam: { show: true, allocate: 'all', release: 'all' } },
  'read-only': { read: 'all', write: [], owned: false, ipam: SHOW },
  'sync-server': { read: 'all', write: [], owned: false, ipam: SHOW },
  controller: {
    read: 'all',
    write: ['Node', 'Profile', 'NetworkPolicy', 'GlobalNetworkPolicy', 'WorkloadEndpoint', 'HostEndpoint'],
    owned: false,
    ipam: { show: true, allocate: 'none', release: 'all' },
  },
  node: {
    read: ['Node', 'WorkloadEndpoint'],
    write: ['WorkloadEndpoint'],
    owned: true,
    ipam: { show: false, allocate: 'own', release: 'own' },
  },
  reflector: { read: ['LearnedRoute'], write: ['LearnedRoute'], owned: true, ipam: NONE },
  datastore: { read: [], write: [], owned: false, ipam: NONE },
  nats: { read: [], write: [], owned: false, ipam: NONE },
};

interface Doc {
  readonly kind: string;
  readonly metadata?: { readonly name?: unknown };
  readonly spec?: unknown;
}

/** The owner of a document for owner-scoped roles, or undefined when its kind has none. */
function ownerOf(doc: Doc): string | undefined {
  const spec = (doc.spec ?? {}) as Record<string, unknown>;
  switch (doc.kind) {
    case 'WorkloadEndpoint':
      return typeof spec.node === 'string' ? spec.node : '';
    case 'LearnedRoute':
      return typeof spec.learnedBy === 'string' ? spec.learnedBy : '';
    case 'Node':
      return typeof doc.metadata?.name === 'string' ? doc.metadata.name : '';
    default:
      return undefined;
  }
}

const allows = (list: 'all' | readonly string[], kind: string) => list === 'all' || list.includes(kind);

/** The decisions for one caller. Every method throws PermissionDeniedError naming what was refused. */
export class Access {
  private constructor(
    private readonly caller: Caller,
    private readonly identity: Identity | undefined,
    private readonly rule: Rule | undefined,
    private readonly convertedRequested: boolean,
  ) {}

  /** `converted`: the request carried CONVERTED_METADATA (see `converted()`). */
  static of(caller: Caller, converted = false): Access {
    if (caller.kind === 'insecure') return new Access(caller, undefined, RULES.admin, converted);
    if (caller.kind === 'unidentified') return new Access(caller, undefined, undefined, converted);
    return new Access(caller, caller.identity, RULES[caller.identity.role], converted);
  }

  /**
   * Whether this write is the orchestrator's controller converting its own objects, which may use
   * names Calico reserves for them (`knp.default.*`). Only the controller role may ask (and
   * anyone on an insecure server, where nothing is authenticated); a user, even an admin, gets
   * Calico's refusal, so a hand-made policy cannot collide with a converted one.
   */
  converted(): boolean {
    if (!this.convertedRequested) return false;
    if (this.caller.kind === 'insecure' || this.identity?.role === 'controller') return true;
    this.deny("write as the orchestrator's controller (converted resources need the controller role)");
  }

  get who(): string {
    return describeCaller(this.caller);
  }

  /** The caller's role for metrics ("anonymous" on an insecure server, "unidentified" without identity). */
  get role(): string {
    return this.identity?.role ?? (this.caller.kind === 'insecure' ? 'anonymous' : 'unidentified');
  }

  private deny(what: string): never {
    throw new PermissionDeniedError(`${this.who} may not ${what}`);
  }

  private get r(): Rule {
    return this.rule ?? this.deny('use the datastore API (no role)');
  }

  /** Get/List/Watch of `kind` (undefined: every kind, for a Watch of all kinds). */
  read(method: 'Get' | 'List' | 'Watch', kind: string | undefined): void {
    const r = this.r;
    if (kind === undefined ? r.read !== 'all' : !allows(r.read, kind)) this.deny(`${method} ${kind ?? 'every kind'}`);
    if (method === 'Watch' && r.owned) this.deny('Watch (follow the sync servers instead)');
  }

  /** Whether a document read may be shown to the caller (owner-scoped roles see only their own). */
  visible(doc: Doc): boolean {
    const r = this.r;
    if (!r.owned) return true;
    const owner = ownerOf(doc);
    return owner !== undefined && owner === this.identity!.name;
  }

  /** A write of `doc` (the new document, or the stored one for a delete). */
  write(method: 'Create' | 'Update' | 'Apply' | 'Delete', doc: Doc): void {
    const r = this.r;
    if (!allows(r.write, doc.kind)) this.deny(`${method} ${doc.kind}`);
    if (r.owned && !this.visible(doc))
      this.deny(
        `${method} ${doc.kind} of ${JSON.stringify(ownerOf(doc))} (only its own, ${JSON.stringify(this.identity!.name)})`,
      );
  }

  /** Whether the role writes owner-scoped: the stored document must then be checked too. */
  get ownerScoped(): boolean {
    return this.r.owned;
  }

  /**
   * The CNI plugin's address calls. Assigning is for the caller's own node (node role) or anyone
   * (admin). Releases and handle look-ups are by handle (the container id): a node may make them
   * for any handle, the controller too (garbage collection). Scoping handles to their node is
   * not done yet.
   */
  ipamAddresses(
    method: 'AutoAssign' | 'AssignIp' | 'ReleaseIps' | 'ReleaseHandle' | 'HandleAddresses',
    node?: string,
  ): void {
    const role = this.identity?.role ?? (this.caller.kind === 'insecure' ? 'admin' : undefined);
    if (role === 'admin') return;
    if (method === 'AutoAssign' || method === 'AssignIp') {
      if (role === 'node' && node === this.identity!.name) return;
      this.deny(`${method} for node ${JSON.stringify(node)}`);
    }
    if (role === 'node' || role === 'controller') return;
    this.deny(method);
  }

  ipam(method: 'AllocateBlock' | 'ReleaseBlocks' | 'IpamShow', node?: string): void {
    const i = this.r.ipam;
    if (method === 'IpamShow') {
      if (!i.show) this.deny('IpamShow');
      return;
    }
    const mode = method === 'AllocateBlock' ? i.allocate : i.release;
    if (mode === 'all') return;
    if (mode === 'own' && node === this.identity?.name) return;
    this.deny(`${method} for node ${JSON.stringify(node)}`);
  }
}
