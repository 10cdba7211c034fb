// IPPool, IPAMBlock and BlockAffinity: Calico's IPAM resources and their rules.

import { checkDns1123Subdomain } from './names.js';
import { cidrSize, cidrsOverlap, parseCidr } from './net.js';
import { cidr, nameField, selector } from './fields.js';
import {
  boolean,
  describe,
  fail,
  integer,
  isPlainObject,
  list,
  object,
  oneOf,
  optional,
  required,
  string,
  stringMap,
  withDefault,
  type Check,
} from './schema.js';
import type { KindSpec } from './kind-spec.js';

/** Calico's IPv4 and IPv6 block-size limits (prefix lengths) and defaults. */
export const BLOCK_SIZE = {
  4: { min: 20, max: 32, default: 26 },
  6: { min: 116, max: 128, default: 122 },
} as const;

const ENCAP = ['Never', 'Always', 'CrossSubnet'] as const;

const ipPoolSpec = object({
  cidr: required(cidr()),
  blockSize: optional(integer(0, Number.MAX_SAFE_INTEGER)),
  ipipMode: withDefault(oneOf(ENCAP), 'Never'),
  vxlanMode: withDefault(oneOf(ENCAP), 'Never'),
  natOutgoing: withDefault(boolean, false),
  disabled: withDefault(boolean, false),
  disableBGPExport: withDefault(boolean, false),
  nodeSelector: withDefault(selector({ noGlobal: 'global() is not valid in an IPPool nodeSelector' }), 'all()'),
  allowedUses: withDefault(
    list(oneOf(['Workload', 'Tunnel', 'LoadBalancer'] as const), { maxItems: 10, unique: true }),
    ['Workload', 'Tunnel'],
  ),
  assignmentMode: withDefault(oneOf(['Automatic', 'Manual'] as const), 'Automatic'),
  namespaceSelector: optional(selector({ noGlobal: 'global() is not valid in an IPPool namespaceSelector' })),
});

const IPV4_LINK_LOCAL = parseCidr('169.254.0.0/16');
const IPV6_LINK_LOCAL = parseCidr('fe80::/10');

export const IPPOOL: KindSpec = {
  spec: (value, path) => {
    const spec = ipPoolSpec(value, path);
    const pool = parseCidr(spec.cidr as string);
    const limits = BLOCK_SIZE[pool.family];
    // As Calico: an empty nodeSelector selects every node; blockSize 0 (or absent) is the default.
    if (spec.nodeSelector === '') spec.nodeSelector = 'all()';
    if (spec.blockSize === undefined || spec.blockSize === 0) spec.blockSize = limits.default;
    const blockSize = spec.blockSize as number;
    if (blockSize < limits.min || blockSize > limits.max) {
      fail(`${path}.blockSize`, `${blockSize} is out of range for IPv${pool.family} (${limits.min}-${limits.max})`);
    }
    if (pool.prefixLength > blockSize && !spec.disabled) {
      fail(
        `${path}.blockSize`,
        `a /${blockSize} block does not fit in ${pool.text}: the pool must be at least as large as one block`,
      );
    }
    const linkLocal = pool.family === 4 ? IPV4_LINK_LOCAL : IPV6_LINK_LOCAL;
    if (cidrsOverlap(pool, linkLocal))
      fail(`${path}.cidr`, `${pool.text} overlaps the link-local range ${linkLocal.text}`);
    if (spec.ipipMode !== 'Never' && spec.vxlanMode !== 'Never') {
      fail(`${path}.vxlanMode`, `ipipMode (${spec.ipipMode}) and vxlanMode (${spec.vxlanMode}) cannot both be enabled`);
    }
    if (pool.family === 6 && spec.ipipMode !== 'Never') fail(`${path}.ipipMode`, 'IPIP is not supported on IPv6 pools');
    const uses = spec.allowedUses as string[];
    if (uses.includes('Tunnel') && spec.namespaceSelector) {
      fail(`${path}.namespaceSelector`, 'a pool with allowed use Tunnel cannot have a namespaceSelector');
    }
    if (uses.includes('LoadBalancer')) {
      if (uses.length > 1) fail(`${path}.allowedUses`, 'LoadBalancer cannot be combined with Workload or Tunnel');
      if (spec.ipipMode !== 'Never' || spec.vxlanMode !== 'Never') {
        fail(`${path}.allowedUses`, 'a LoadBalancer pool cannot have IPIP or VXLAN enabled');
      }
      if (spec.disableBGPExport) fail(`${path}.disableBGPExport`, 'a LoadBalancer pool cannot disable BGP export');
      if (spec.nodeSelector !== 'all()')
        fail(`${path}.nodeSelector`, "a LoadBalancer pool must have nodeSelector 'all()'");
    }
    const { cidr: c, blockSize: b, ...rest } = spec;
    return { cidr: c, blockSize: b, ...rest };
  },
};

/**
 * Canonical address or CIDR text as a name part: '.', ':' and '/' become '-', and a leading or
 * trailing "::" is written "0::" / "::0" so the part starts and ends with a digit or letter.
 */
export function nameToken(canonical: string): string {
  return canonical.replace(/^::/, '0::').replace(/::$/, '::0').replace(/::\//, '::0/').replace(/[.:/]/g, '-');
}

/** The name of the IPAMBlock of a CIDR, as Calico spells it: "10-0-1-0-26", "fd00-0-0-1--0-122". */
export function ipamBlockName(blockCidr: string): string {
  return nameToken(parseCidr(blockCidr).text);
}

/** A name for the BlockAffinity of (node, block): "<node>-<ipamBlockName>". */
export function blockAffinityName(node: string, blockCidr: string): string {
  return `${node}-${ipamBlockName(blockCidr)}`;
}

const affinity: Check<string> = (value, path) => {
  const s = string({ nonEmpty: true })(value, path);
  const m = /^(host|virtual):(.*)$/.exec(s);
  if (!m) return fail(path, `'${s}' is not an affinity (expected 'host:NODE' or 'virtual:NAME')`);
  const problem = checkDns1123Subdomain(m[2]!);
  if (problem) fail(path, `node name ${problem}`);
  return s;
};

const allocationAttribute = object({
  handle_id: optional(string({ maxLength: 512 })),
  secondary: optional(stringMap(() => undefined)),
  alternateOwnerAttrs: optional(stringMap(() => undefined)),
  releasedAt: optional(string()),
});

const allocationEntry: Check<number | null> = (value, path) =>
  value === null ? null : integer(0, Number.MAX_SAFE_INTEGER)(value, path);

const ipamBlockSpec = object({
  cidr: required(cidr()),
  affinity: optional(affinity),
  affinityClaimTime: optional(string()),
  strictAffinity: withDefault(boolean, false),
  allocations: required((value, path) => {
    if (!Array.isArray(value)) return fail(path, `expected a list, got ${describe(value)}`);
    return value.map((v, i) => allocationEntry(v, `${path}[${i}]`));
  }),
  unallocated: required(list(integer(0, Number.MAX_SAFE_INTEGER))),
  attributes: withDefault(list(allocationAttribute), []),
  sequenceNumber: optional(integer(0, Number.MAX_SAFE_INTEGER)),
  sequenceNumberForAllocation: optional((value, path) => {
    if (!isPlainObject(value)) return fail(path, `expected a mapping, got ${describe(value)}`);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = integer(0, Number.MAX_SAFE_INTEGER)(v, `${path}[${JSON.stringify(k)}]`);
    return out;
  }),
  deleted: withDefault(boolean, false),
});

export const IPAMBLOCK: KindSpec = {
  spec: (value, path) => {
    // Check the CIDR first: it bounds the allocation arrays (at most 4096 entries).
    const raw = isPlainObject(value) ? value : {};
    if (raw.cidr !== undefined && raw.cidr !== null) {
      const c = parseCidr(cidr()(raw.cidr, `${path}.cidr`));
      const limits = BLOCK_SIZE[c.family];
      if (c.prefixLength < limits.min || c.prefixLength > limits.max) {
        fail(
          `${path}.cidr`,
          `a block must be /${limits.min} to /${limits.max} for IPv${c.family}, got /${c.prefixLength}`,
        );
      }
    }
    const spec = ipamBlockSpec(value, path);
    const size = Number(cidrSize(spec.cidr as string));
    const allocations = spec.allocations as (number | null)[];
    const attributes = spec.attributes as unknown[];
    if (allocations.length !== size) {
      fail(`${path}.allocations`, `has ${allocations.length} entries; a ${spec.cidr} block needs exactly ${size}`);
    }
    allocations.forEach((a, i) => {
      if (a !== null && a >= attributes.length) {
        fail(`${path}.allocations[${i}]`, `refers to attribute ${a}, but there are ${attributes.length} attributes`);
      }
    });
    const seen = new Set<number>();
    (spec.unallocated as number[]).forEach((o, i) => {
      const p = `${path}.unallocated[${i}]`;
      if (o >= size) fail(p, `${o} is outside the block (0-${size - 1})`);
      if (seen.has(o)) fail(p, `${o} is listed twice`);
      if (allocations[o] !== null) fail(p, `${o} is listed as free but allocations[${o}] is ${allocations[o]}`);
      seen.add(o);
    });
    const free = allocations.filter((a) => a === null).length;
    if (free !== seen.size) {
      fail(`${path}.unallocated`, `lists ${seen.size} free addresses, but allocations has ${free} free entries`);
    }
    return spec;
  },
  finish: ({ name }, spec) => {
    const expected = ipamBlockName(spec.cidr as string);
    if (name !== expected) fail('metadata.name', `an IPAMBlock for ${spec.cidr} must be named '${expected}'`);
  },
};

const blockAffinitySpec = object({
  state: withDefault(oneOf(['confirmed', 'pending', 'pendingDeletion'] as const), 'confirmed'),
  node: required(nameField),
  cidr: required(cidr()),
  // Older Calico versions store "true" / "false" strings.
  deleted: withDefault((value: unknown, path: string) => {
    if (value === 'true' || value === 'false') return value === 'true';
    return boolean(value, path);
  }, false),
  type: optional(oneOf(['host', 'virtual'] as const)),
});

export const BLOCKAFFINITY: KindSpec = {
  spec: (value, path) => {
    const spec = blockAffinitySpec(value, path);
    const c = parseCidr(spec.cidr as string);
    const limits = BLOCK_SIZE[c.family];
    if (c.prefixLength < limits.min || c.prefixLength > limits.max) {
      fail(
        `${path}.cidr`,
        `a block must be /${limits.min} to /${limits.max} for IPv${c.family}, got /${c.prefixLength}`,
      );
    }
    return spec;
  },
};

/**
 * The name of the IPAMHandle of a handle id. Calico names the resource after the id itself
 * (`k8s-pod-network.<container id>`), lower-cased because Kubernetes names are.
 */
export function ipamHandleName(handleId: string): string {
  return handleId.toLowerCase();
}

const ipamHandleSpec = object({
  handleID: required(string({ nonEmpty: true, maxLength: 253 })),
  block: withDefault((value: unknown, path: string) => {
    if (!isPlainObject(value)) return fail(path, `expected a mapping of block CIDR to count, got ${describe(value)}`);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(value)) {
      const p = `${path}[${JSON.stringify(k)}]`;
      const c = parseCidr(cidr()(k, p));
      if (c.text !== k) fail(p, `block CIDR must be canonical ('${c.text}')`);
      out[k] = integer(0, Number.MAX_SAFE_INTEGER)(v, p);
    }
    return out;
  }, {}),
  deleted: withDefault(boolean, false),
});

export const IPAMHANDLE: KindSpec = {
  spec: (value, path) => ipamHandleSpec(value, path),
  finish: ({ name }, spec) => {
    const expected = ipamHandleName(spec.handleID as string);
    if (name !== expected)
      fail('metadata.name', `the IPAMHandle of handle '${spec.handleID}' must be named '${expected}'`);
  },
};
