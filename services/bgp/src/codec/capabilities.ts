// Capabilities (RFC 5492 §4): code (1), length (1), value. Each known code is decoded into a typed
// value; any other code is kept as `Unknown` so it can be logged and ignored (RFC 5492 §3).

import { copyBytes } from './bytes.js';
import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { AFI_FLAG_FORWARDING_STATE, CapabilityCode, ErrorCode, UNSPECIFIC_SUBCODE } from './constants.js';
import { sessionError } from './errors.js';
import type { Capability } from './types.js';

const utf8 = new TextEncoder();
const utf8Lossy = new TextDecoder('utf-8');

const FIXED_LENGTH: Readonly<Record<number, number>> = {
  [CapabilityCode.MultiProtocol]: 4,
  [CapabilityCode.RouteRefresh]: 0,
  [CapabilityCode.EnhancedRouteRefresh]: 0,
  [CapabilityCode.ExtendedMessage]: 0,
  [CapabilityCode.FourOctetAs]: 4,
};

function malformed(what: string, value: Uint8Array): never {
  // RFC 5492 §3 leaves the subcode open; we send OPEN Message Error / Unspecific with the capability.
  throw sessionError(`OPEN capability ${what}`, ErrorCode.OpenMessage, UNSPECIFIC_SUBCODE, value);
}

/** Decodes one capability value; `tlv` (code, length, value) is the NOTIFICATION data on error. */
export function decodeCapability(code: number, v: Uint8Array, tlv: Uint8Array): Capability {
  const fixed = FIXED_LENGTH[code];
  if (fixed !== undefined && v.length !== fixed) malformed(`code ${code}: length ${v.length}, expected ${fixed}`, tlv);
  const u16 = (o: number): number => (v[o]! << 8) | v[o + 1]!;
  switch (code) {
    case CapabilityCode.MultiProtocol:
      return { kind: 'MultiProtocol', afi: u16(0), safi: v[3]! };
    case CapabilityCode.RouteRefresh:
      return { kind: 'RouteRefresh' };
    case CapabilityCode.EnhancedRouteRefresh:
      return { kind: 'EnhancedRouteRefresh' };
    case CapabilityCode.ExtendedMessage:
      return { kind: 'ExtendedMessage' };
    case CapabilityCode.FourOctetAs:
      return { kind: 'FourOctetAs', asn: ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0 };
    case CapabilityCode.GracefulRestart: {
      // RFC 4724 §3: flags/time (2) then (AFI 2, SAFI 1, flags 1) per family.
      if (v.length < 2 || (v.length - 2) % 4 !== 0) malformed(`GracefulRestart: length ${v.length} is not 2 + 4n`, tlv);
      const afis = [];
      for (let o = 2; o < v.length; o += 4) {
        afis.push({ afi: u16(o), safi: v[o + 2]!, forwardingState: (v[o + 3]! & AFI_FLAG_FORWARDING_STATE) !== 0 });
      }
      return { kind: 'GracefulRestart', restartFlags: v[0]! >> 4, restartTime: u16(0) & 0x0fff, afis };
    }
    case CapabilityCode.LongLivedGracefulRestart: {
      // RFC 9494 §3: (AFI 2, SAFI 1, flags 1, stale time 3) per family.
      if (v.length % 7 !== 0) malformed(`LongLivedGracefulRestart: length ${v.length} is not a multiple of 7`, tlv);
      const afis = [];
      for (let o = 0; o < v.length; o += 7) {
        afis.push({
          afi: u16(o),
          safi: v[o + 2]!,
          forwardingState: (v[o + 3]! & AFI_FLAG_FORWARDING_STATE) !== 0,
          staleTime: (v[o + 4]! << 16) | (v[o + 5]! << 8) | v[o + 6]!,
        });
      }
      return { kind: 'LongLivedGracefulRestart', afis };
    }
    case CapabilityCode.AddPath: {
      // RFC 7911 §4: (AFI 2, SAFI 1, Send/Receive 1) per family.
      if (v.length % 4 !== 0 || v.length === 0)
        malformed(`AddPath: length ${v.length} is not a positive multiple of 4`, tlv);
      const afis = [];
      for (let o = 0; o < v.length; o += 4) afis.push({ afi: u16(o), safi: v[o + 2]!, sendReceive: v[o + 3]! });
      return { kind: 'AddPath', afis };
    }
    case CapabilityCode.Fqdn: {
      // draft-walton-bgp-hostname-capability §3: hostname length, hostname, domain length, domain.
      const hl = v[0];
      if (hl === undefined || 1 + hl + 1 > v.length)
        malformed(`Fqdn: hostname length ${hl ?? 'missing'} overruns ${v.length} octets`, tlv);
      const dl = v[1 + hl]!;
      if (2 + hl + dl !== v.length)
        malformed(`Fqdn: domain length ${dl} with hostname ${hl} does not fill ${v.length} octets`, tlv);
      return {
        kind: 'Fqdn',
        hostname: utf8Lossy.decode(v.subarray(1, 1 + hl)),
        domain: utf8Lossy.decode(v.subarray(2 + hl)),
      };
    }
    default:
      return { kind: 'Unknown', code, value: copyBytes(v) };
  }
}

function checkRange(field: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new InvalidArgumentError(`${field}: ${v} is outside 0..${max}`, { field });
}

/** Value length of a capability (without its 2-octet code/length header). */
export function capabilityValueLength(c: Capability): number {
  switch (c.kind) {
    case 'MultiProtocol':
    case 'FourOctetAs':
      return 4;
    case 'RouteRefresh':
    case 'EnhancedRouteRefresh':
    case 'ExtendedMessage':
      return 0;
    case 'GracefulRestart':
      return 2 + 4 * c.afis.length;
    case 'LongLivedGracefulRestart':
      return 7 * c.afis.length;
    case 'AddPath':
      return 4 * c.afis.length;
    case 'Fqdn':
      return 2 + utf8.encode(c.hostname).length + utf8.encode(c.domain).length;
    case 'Unknown':
      return c.value.length;
  }
}

/** Writes code, length and value at `off`; returns the octets written. */
export function writeCapability(out: Uint8Array, off: number, c: Capability): number {
  const len = capabilityValueLength(c);
  if (len > 255)
    throw new InvalidArgumentError(`capabilities.${c.kind}: value is ${len} octets, max 255`, {
      field: `capabilities.${c.kind}`,
    });
  const code = c.kind === 'Unknown' ? c.code : CapabilityCode[c.kind];
  checkRange('capabilities.code', code, 255);
  out[off] = code;
  out[off + 1] = len;
  let o = off + 2;
  const w16 = (v: number): void => {
    out[o++] = v >> 8;
    out[o++] = v & 255;
  };
  const family = (f: { afi: number; safi: number }, field: string): void => {
    checkRange(`${field}.afi`, f.afi, 0xffff);
    checkRange(`${field}.safi`, f.safi, 255);
    w16(f.afi);
    out[o++] = f.safi;
  };
  switch (c.kind) {
    case 'MultiProtocol':
      // RFC 4760 §8: AFI (2), reserved (1), SAFI (1).
      checkRange('capabilities.MultiProtocol.afi', c.afi, 0xffff);
      checkRange('capabilities.MultiProtocol.safi', c.safi, 255);
      w16(c.afi);
      out[o++] = 0;
      out[o++] = c.safi;
      break;
    case 'FourOctetAs':
      checkRange('capabilities.FourOctetAs.asn', c.asn, 0xffffffff);
      new DataView(out.buffer, out.byteOffset).setUint32(o, c.asn);
      o += 4;
      break;
    case 'GracefulRestart':
      checkRange('capabilities.GracefulRestart.restartFlags', c.restartFlags, 0xf);
      checkRange('capabilities.GracefulRestart.restartTime', c.restartTime, 0xfff);
      w16((c.restartFlags << 12) | c.restartTime);
      for (const f of c.afis) {
        family(f, 'capabilities.GracefulRestart.afis');
        out[o++] = f.forwardingState ? AFI_FLAG_FORWARDING_STATE : 0;
      }
      break;
    case 'LongLivedGracefulRestart':
      for (const f of c.afis) {
        family(f, 'capabilities.LongLivedGracefulRestart.afis');
        checkRange('capabilities.LongLivedGracefulRestart.afis.staleTime', f.staleTime, 0xffffff);
        out[o++] = f.forwardingState ? AFI_FLAG_FORWARDING_STATE : 0;
        out[o++] = f.staleTime >> 16;
        w16(f.staleTime & 0xffff);
      }
      break;
    case 'AddPath':
      for (const f of c.afis) {
        family(f, 'capabilities.AddPath.afis');
        checkRange('capabilities.AddPath.afis.sendReceive', f.sendReceive, 255);
        out[o++] = f.sendReceive;
      }
      break;
    case 'Fqdn': {
      const h = utf8.encode(c.hostname);
      const d = utf8.encode(c.domain);
      out[o++] = h.length;
      out.set(h, o);
      o += h.length;
      out[o++] = d.length;
      out.set(d, o);
      o += d.length;
      break;
    }
    case 'Unknown':
      out.set(c.value, o);
      o += c.value.length;
      break;
    case 'RouteRefresh':
    case 'EnhancedRouteRefresh':
    case 'ExtendedMessage':
      break;
  }
  return o - off;
}
