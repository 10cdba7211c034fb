// OPEN (RFC 4271 §4.2): version, my AS, hold time, BGP identifier, optional parameters. The only
// optional parameter in use is Capabilities (RFC 5492); RFC 9072 extended optional parameters
// length is read, and written when the capabilities exceed 255 octets.

import { InvalidArgumentError } from '../../../shared/errors/index.js';
import { ipv4ToString, parseIpv4 } from './address.js';
import { capabilityValueLength, decodeCapability, writeCapability } from './capabilities.js';
import {
  AS_TRANS,
  BGP_VERSION,
  ErrorCode,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  MIN_OPEN_LENGTH,
  OpenMessageSubcode,
  OptionalParameterType,
  UNSPECIFIC_SUBCODE,
} from './constants.js';
import { sessionError } from './errors.js';
import { writeHeader } from './header.js';
import type { Capability, OpenMessage } from './types.js';

/** Octets of version, my AS, hold time, BGP identifier and the optional parameters length. */
const FIXED = MIN_OPEN_LENGTH - HEADER_LENGTH;

export function decodeOpen(body: Uint8Array): OpenMessage {
  const version = body[0]!;
  // RFC 4271 §6.2: unsupported version → data is the largest version we support (2 octets).
  if (version !== BGP_VERSION) {
    throw sessionError(
      `OPEN: version ${version} is not supported (only ${BGP_VERSION})`,
      ErrorCode.OpenMessage,
      OpenMessageSubcode.UnsupportedVersionNumber,
      new Uint8Array([0, BGP_VERSION]),
    );
  }
  const myAs = (body[1]! << 8) | body[2]!;
  const holdTime = (body[3]! << 8) | body[4]!;
  // RFC 4271 §6.2: hold time 1 or 2 seconds is unacceptable.
  if (holdTime === 1 || holdTime === 2) {
    throw sessionError(
      `OPEN: hold time ${holdTime} s is neither 0 nor at least 3`,
      ErrorCode.OpenMessage,
      OpenMessageSubcode.UnacceptableHoldTime,
    );
  }
  // RFC 6286 §2.2: the BGP identifier is a non-zero 32-bit value.
  if ((body[5]! | body[6]! | body[7]! | body[8]!) === 0) {
    throw sessionError(
      'OPEN: BGP identifier is 0.0.0.0',
      ErrorCode.OpenMessage,
      OpenMessageSubcode.BadBgpIdentifier,
      body.subarray(5, 9),
    );
  }
  const bgpId = ipv4ToString(body, 5);
  let optLen = body[9]!;
  let o = FIXED;
  let extended = false;
  // RFC 9072 §2: optional parameters length 255 followed by type 255 means 2-octet lengths follow.
  if (optLen === 255 && body[o] === OptionalParameterType.ExtendedLength) {
    if (body.length < o + 3)
      throw sessionError(
        `OPEN: extended optional parameters length needs 3 octets, ${body.length - o} remain`,
        ErrorCode.OpenMessage,
        UNSPECIFIC_SUBCODE,
      );
    optLen = (body[o + 1]! << 8) | body[o + 2]!;
    o += 3;
    extended = true;
  }
  if (o + optLen !== body.length) {
    throw sessionError(
      `OPEN: optional parameters length ${optLen} but ${body.length - o} octets follow`,
      ErrorCode.OpenMessage,
      UNSPECIFIC_SUBCODE,
    );
  }
  const capabilities: Capability[] = [];
  const end = body.length;
  const hdr = extended ? 3 : 2;
  while (o < end) {
    if (end - o < hdr)
      throw sessionError(
        `OPEN: optional parameter header needs ${hdr} octets, ${end - o} remain`,
        ErrorCode.OpenMessage,
        UNSPECIFIC_SUBCODE,
      );
    const type = body[o]!;
    const len = extended ? (body[o + 1]! << 8) | body[o + 2]! : body[o + 1]!;
    const vStart = o + hdr;
    if (vStart + len > end)
      throw sessionError(
        `OPEN: optional parameter type ${type} declares ${len} octets but ${end - vStart} remain`,
        ErrorCode.OpenMessage,
        UNSPECIFIC_SUBCODE,
      );
    // RFC 5492 §4 / RFC 4271 §6.2: only the Capabilities parameter is supported.
    if (type !== OptionalParameterType.Capabilities) {
      throw sessionError(
        `OPEN: optional parameter type ${type} is not supported`,
        ErrorCode.OpenMessage,
        OpenMessageSubcode.UnsupportedOptionalParameter,
        body.subarray(o, vStart + len),
      );
    }
    for (let c = vStart; c < vStart + len; ) {
      if (vStart + len - c < 2)
        throw sessionError(
          `OPEN: capability header needs 2 octets, ${vStart + len - c} remain`,
          ErrorCode.OpenMessage,
          UNSPECIFIC_SUBCODE,
          body.subarray(c, vStart + len),
        );
      const code = body[c]!;
      const clen = body[c + 1]!;
      if (c + 2 + clen > vStart + len) {
        throw sessionError(
          `OPEN: capability code ${code} declares ${clen} octets but ${vStart + len - c - 2} remain`,
          ErrorCode.OpenMessage,
          UNSPECIFIC_SUBCODE,
          body.subarray(c, vStart + len),
        );
      }
      capabilities.push(decodeCapability(code, body.subarray(c + 2, c + 2 + clen), body.subarray(c, c + 2 + clen)));
      c += 2 + clen;
    }
    o = vStart + len;
  }
  return { type: MessageType.Open, version, myAs, holdTime, bgpId, capabilities };
}

function capabilitiesLength(caps: readonly Capability[]): number {
  let n = 0;
  for (const c of caps) n += 2 + capabilityValueLength(c);
  return n;
}

/** One Capabilities parameter holds them all; RFC 9072 framing when they exceed 253 octets. */
export function openLength(m: OpenMessage): number {
  const caps = capabilitiesLength(m.capabilities);
  if (caps === 0) return MIN_OPEN_LENGTH;
  return caps + 2 <= 255 ? MIN_OPEN_LENGTH + 2 + caps : MIN_OPEN_LENGTH + 3 + 3 + caps;
}

export function writeOpen(out: Uint8Array, off: number, m: OpenMessage): number {
  const check = (field: string, v: number, max: number): void => {
    if (!Number.isInteger(v) || v < 0 || v > max)
      throw new InvalidArgumentError(`open.${field}: ${v} is outside 0..${max}`, { field: `open.${field}` });
  };
  check('version', m.version, 255);
  check('myAs', m.myAs, 0xffff);
  check('holdTime', m.holdTime, 0xffff);
  const length = openLength(m);
  if (length > MAX_MESSAGE_LENGTH)
    throw new InvalidArgumentError(`open.capabilities: ${length}-octet OPEN exceeds ${MAX_MESSAGE_LENGTH}`, {
      field: 'open.capabilities',
    });
  writeHeader(out, off, length, MessageType.Open);
  let o = off + HEADER_LENGTH;
  out[o++] = m.version;
  out[o++] = m.myAs >> 8;
  out[o++] = m.myAs & 255;
  out[o++] = m.holdTime >> 8;
  out[o++] = m.holdTime & 255;
  parseIpv4(m.bgpId, 'open.bgpId', out, o);
  o += 4;
  const caps = capabilitiesLength(m.capabilities);
  if (caps === 0) {
    out[o++] = 0;
    return length;
  }
  if (caps + 2 <= 255) {
    out[o++] = caps + 2;
    out[o++] = OptionalParameterType.Capabilities;
    out[o++] = caps;
  } else {
    out[o++] = 255;
    out[o++] = OptionalParameterType.ExtendedLength;
    out[o++] = (caps + 3) >> 8;
    out[o++] = (caps + 3) & 255;
    out[o++] = OptionalParameterType.Capabilities;
    out[o++] = caps >> 8;
    out[o++] = caps & 255;
  }
  for (const c of m.capabilities) o += writeCapability(out, o, c);
  return length;
}

/** The speaker's AS: the 4-octet capability value when present (RFC 6793 §3), else `myAs`. */
export function openAsn(m: OpenMessage): number {
  for (const c of m.capabilities) if (c.kind === 'FourOctetAs') return c.asn;
  return m.myAs;
}

/** The `myAs` field for an ASN: itself when it fits 2 octets, else AS_TRANS (RFC 6793 §4.2.1). */
export function myAsField(asn: number): number {
  return asn <= 0xffff ? asn : AS_TRANS;
}
