// Checks for Calico's field types: names, addresses, CIDRs, AS numbers, ports, protocols,
// selectors, MACs, interface names, durations and BGP communities. Each follows the rule in
// libcalico-go's validator or numorstring package (cited by name), with its own messages.
//
// CIDRs must be strictly masked (no host bits), as Calico requires; the accepted text is then
// normalized to canonical form (IPv6 compressed lower case, a bare address written as /32 or
// /128 where Calico accepts one). The error for host bits names the masked CIDR.

import { parseDuration } from '../config/index.js';
import { checkDns1123Label, checkDns1123Subdomain } from './names.js';
import { ipToString, tryParseCidr, tryParseInterfaceAddress, tryParseIp, type IpFamily } from './net.js';
import { parseSelector, SelectorError, type SelectorNode } from './selector.js';
import { describe, fail, integer, mapped, text, type Check } from './schema.js';

export const nameField: Check<string> = text(checkDns1123Subdomain, { maxLength: 253 });
export const labelName: Check<string> = text(checkDns1123Label);

/** An IP address (optionally of one family), returned in canonical text. */
export function ipAddress(family?: IpFamily): Check<string> {
  return mapped((s) => {
    const ip = tryParseIp(s);
    if (typeof ip === 'string') return { problem: ip };
    if (family && ip.family !== family) return { problem: `'${s}' is not an IPv${family} address` };
    return ipToString(ip);
  });
}

/**
 * A strictly masked CIDR (Calico's "net"), returned canonical. With `allowBareIp`, an address
 * alone means /32 or /128.
 */
export function cidr(options: { family?: IpFamily; allowBareIp?: boolean } = {}): Check<string> {
  return mapped(
    (s) => {
      const c = tryParseCidr(s, { allowBareIp: options.allowBareIp ?? false });
      if (typeof c === 'string') return { problem: c };
      if (options.family && c.family !== options.family)
        return { problem: `'${s}' is not an IPv${options.family} CIDR` };
      const slash = s.indexOf('/');
      if (slash >= 0) {
        const given = tryParseIp(s.slice(0, slash));
        if (typeof given !== 'string' && ipToString(given) !== ipToString({ family: c.family, bytes: c.address })) {
          return { problem: `${s} is not strictly masked: host bits are set (the network is ${c.text})` };
        }
      }
      return c.text;
    },
    { maxLength: 64 },
  );
}

/** "address/prefix" where the address may have host bits (a node's address on its subnet). */
export function interfaceAddress(family?: IpFamily): Check<string> {
  return mapped(
    (s) => {
      // Calico's cidrv4/cidrv6 also accept a bare address; keep it bare.
      if (!s.includes('/')) {
        const ip = tryParseIp(s);
        if (typeof ip === 'string') return { problem: ip };
        if (family && ip.family !== family) return { problem: `'${s}' is not an IPv${family} address` };
        return ipToString(ip);
      }
      const a = tryParseInterfaceAddress(s);
      if (typeof a === 'string') return { problem: a };
      if (family && a.ip.family !== family) return { problem: `'${s}' is not an IPv${family} address` };
      return a.text;
    },
    { maxLength: 64 },
  );
}

/**
 * A BGP AS number, 1..4294967295 (RFC 6793 4-byte ASNs), given as a number, a decimal string,
 * or asdot "H.L" (RFC 5396; both halves 0..65535), which is normalized to H*65536+L.
 */
export const asNumber: Check<number> = (value, path) => {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) {
      return fail(
        path,
        `${value} is not an AS number; write asdot notation as a quoted string (e.g. '1.10'), since YAML reads 1.10 as the number 1.1`,
      );
    }
    if (value < 1 || value > 4294967295) return fail(path, `${value} is out of range for an AS number (1-4294967295)`);
    return value;
  }
  if (typeof value !== 'string') return fail(path, `expected an AS number, got ${describe(value)}`);
  let n: number;
  if (/^[0-9]{1,10}$/.test(value)) n = Number(value);
  else {
    const m = /^([0-9]{1,5})\.([0-9]{1,5})$/.exec(value);
    if (!m) return fail(path, `'${value}' is not an AS number (use 65000, '4200000000' or asdot '1.10')`);
    const hi = Number(m[1]);
    const lo = Number(m[2]);
    if (hi > 65535 || lo > 65535) return fail(path, `'${value}': each half of an asdot AS number must be 0-65535`);
    n = hi * 65536 + lo;
  }
  if (n < 1 || n > 4294967295) fail(path, `${value} is out of range for an AS number (1-4294967295)`);
  return n;
};

const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;

/** Calico's numorstring.Protocol: a name (case-insensitive in, canonical out) or 1..255. */
export const protocol: Check<string | number> = (value, path) => {
  if (typeof value === 'number') return integer(1, 255, 'a protocol number')(value, path);
  if (typeof value !== 'string') return fail(path, `expected a protocol name or number, got ${describe(value)}`);
  if (/^[0-9]+$/.test(value)) return integer(1, 255, 'a protocol number')(Number(value), path);
  const name = PROTOCOL_NAMES.find((p) => p.toLowerCase() === value.toLowerCase());
  return name ?? fail(path, `'${value}' is not a protocol (use ${PROTOCOL_NAMES.join(', ')} or a number 1-255)`);
};

/** True for protocols that have ports: TCP, UDP, SCTP (or 6, 17, 132). */
export function protocolHasPorts(p: string | number | undefined): boolean {
  return p === 'TCP' || p === 'UDP' || p === 'SCTP' || p === 6 || p === 17 || p === 132;
}

export function isIcmp(p: string | number | undefined): 4 | 6 | undefined {
  if (p === 'ICMP' || p === 1) return 4;
  if (p === 'ICMPv6' || p === 58) return 6;
  return undefined;
}

const NAMED_PORT = /^[a-zA-Z0-9_.-]{1,128}$/;

/**
 * A rule port (numorstring.Port): 1..65535, "lo:hi" with lo <= hi, or a named port. Numeric
 * strings become numbers; ranges keep the "lo:hi" text.
 */
export const rulePort: Check<number | string> = (value, path) => {
  if (typeof value === 'number') return integer(1, 65535, 'a port')(value, path);
  if (typeof value !== 'string') return fail(path, `expected a port, range or port name, got ${describe(value)}`);
  if (/^[0-9]+$/.test(value)) return integer(1, 65535, 'a port')(Number(value), path);
  const range = /^([0-9]+):([0-9]+)$/.exec(value);
  if (range) {
    const lo = Number(range[1]);
    const hi = Number(range[2]);
    if (lo < 1 || lo > 65535 || hi < 1 || hi > 65535) return fail(path, `port range '${value}' must be within 1-65535`);
    if (lo > hi) return fail(path, `port range '${value}': the first port is greater than the last`);
    return lo === hi ? lo : `${lo}:${hi}`;
  }
  if (!NAMED_PORT.test(value)) {
    return fail(
      path,
      `'${value}' is not a port, a range 'lo:hi' or a port name (letters, digits, '_', '.', '-', at most 128)`,
    );
  }
  return value;
};

export function isNamedPort(p: number | string): boolean {
  return typeof p === 'string' && !/^[0-9]+(:[0-9]+)?$/.test(p);
}

/** A Kubernetes port name (IsValidPortName): at most 15 lower case letters, digits and '-'. */
export const portName: Check<string> = text((s) => {
  if (s.length > 15) return `port name '${s}' is longer than 15 characters`;
  if (!/^[a-z0-9-]+$/.test(s)) return `port name '${s}' may contain only lower case letters, digits and '-'`;
  if (!/[a-z]/.test(s)) return `port name '${s}' must contain at least one letter`;
  if (s.startsWith('-') || s.endsWith('-') || s.includes('--'))
    return `port name '${s}' must not start or end with '-' or contain '--'`;
  return undefined;
});

/** A Calico selector, parsed; returned as given. `noGlobal` rejects global(). */
export function selector(options: { noGlobal?: string; globalAlone?: boolean } = {}): Check<string> {
  return (value, path) => {
    if (typeof value !== 'string') return fail(path, `expected a selector string, got ${describe(value)}`);
    if (value.length > 1024) fail(path, `selector is longer than 1024 characters (${value.length})`);
    let sel;
    try {
      sel = parseSelector(value);
    } catch (e) {
      if (e instanceof SelectorError) return fail(path, e.reason);
      throw e;
    }
    const usesGlobal = selectorUsesGlobal(sel.root);
    if (options.noGlobal && usesGlobal) fail(path, options.noGlobal);
    if (options.globalAlone && usesGlobal && !sel.isGlobal)
      fail(path, 'global() cannot be combined with other selectors');
    return value;
  };
}

function selectorUsesGlobal(node: SelectorNode): boolean {
  switch (node.op) {
    case 'global':
      return true;
    case 'not':
      return selectorUsesGlobal(node.node);
    case 'and':
    case 'or':
      return node.nodes.some(selectorUsesGlobal);
    default:
      return false;
  }
}

/** Linux interface name (Calico's interfaceRegex): 1-15 of letters, digits, '_', '.', '-'. */
export const interfaceName: Check<string> = text((s) =>
  /^[a-zA-Z0-9_.-]{1,15}$/.test(s)
    ? undefined
    : `'${s}' is not a valid interface name (1-15 letters, digits, '_', '.' or '-')`,
);

/** An interface name pattern for BGPConfiguration.ignoredInterfaces ('*' wildcards, not '*' alone). */
export const interfacePattern: Check<string> = text((s) =>
  s !== '*' && /^[a-zA-Z0-9_.*-]{1,15}$/.test(s)
    ? undefined
    : `'${s}' is not a valid interface name or pattern (1-15 letters, digits, '_', '.', '-', '*'; not '*' alone)`,
);

/** A MAC address (as Go's net.ParseMAC accepts 48-bit forms), returned lower case with ':'. */
export const macAddress: Check<string> = mapped((s) => {
  let hex: string | undefined;
  if (/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(s)) hex = s.replace(/[:-]/g, '');
  else if (/^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$/.test(s)) hex = s.replace(/\./g, '');
  if (!hex) return { problem: `'${s}' is not a MAC address (e.g. ee:ee:ee:ee:ee:ee)` };
  return hex.toLowerCase().match(/../g)!.join(':');
});

/** A Kubernetes duration ("90s", "2m", "1h30m", "500ms"; shared/config's parseDuration), kept as given; must be >= 0. */
export const duration: Check<string> = text((s) =>
  parseDuration(s) !== undefined ? undefined : `'${s}' is not a duration (e.g. 120s, 2m, 1h30m)`,
);

/** Milliseconds of a duration accepted by `duration` (0 for anything else). */
export function durationMs(s: string): number {
  return parseDuration(s) ?? 0;
}

/**
 * A BGP community: standard "aa:nn" (RFC 1997, each 0..65535) or large "aa:nn:mm" (RFC 8092, each
 * 0..4294967295). Returns the problem text, or undefined when valid.
 */
export function checkCommunity(s: string): string | undefined {
  const parts = s.split(':');
  if ((parts.length !== 2 && parts.length !== 3) || !parts.every((p) => /^[0-9]{1,10}$/.test(p))) {
    return `'${s}' is not a community (standard 'aa:nn' or large 'aa:nn:mm')`;
  }
  const max = parts.length === 2 ? 65535 : 4294967295;
  if (parts.some((p) => Number(p) > max)) {
    return parts.length === 2
      ? `'${s}': standard community parts must be 0-65535`
      : `'${s}': large community parts must be 0-4294967295`;
  }
  return undefined;
}

export const community: Check<string> = text(checkCommunity);

/**
 * BGPPeer.peerIP (Calico's "IP:port"): an address, "a.b.c.d:port" or "[v6]:port", port 1..65535.
 * Returned canonical.
 */
export const peerAddress: Check<string> = mapped(
  (s) => {
    let host = s;
    let port: string | undefined;
    const v6 = /^\[([^\]]+)\]:([0-9]+)$/.exec(s);
    const v4 = /^([0-9.]+):([0-9]+)$/.exec(s);
    if (v6) [, host, port] = v6 as unknown as [string, string, string];
    else if (v4) [, host, port] = v4 as unknown as [string, string, string];
    else if (s.startsWith('['))
      return { problem: `'${s}' is not an address: write IPv6 with a port as [address]:port` };
    const ip = tryParseIp(host);
    if (typeof ip === 'string') return { problem: `${ip} (use an address, a.b.c.d:port or [ipv6]:port)` };
    if (v6 && ip.family !== 6) return { problem: `'${s}': brackets are only for IPv6 addresses` };
    if (port !== undefined) {
      const n = Number(port);
      if (n < 1 || n > 65535) return { problem: `'${s}': port must be 1-65535` };
      return ip.family === 6 ? `[${ipToString(ip)}]:${n}` : `${ipToString(ip)}:${n}`;
    }
    return ipToString(ip);
  },
  { maxLength: 64 },
);

/** Splits a validated peerIP into address and optional port. */
export function splitPeerAddress(peerIP: string): { ip: string; port?: number } {
  const v6 = /^\[([^\]]+)\]:([0-9]+)$/.exec(peerIP);
  if (v6) return { ip: v6[1]!, port: Number(v6[2]) };
  const v4 = /^([0-9.]+):([0-9]+)$/.exec(peerIP);
  if (v4) return { ip: v4[1]!, port: Number(v4[2]) };
  return { ip: peerIP };
}
