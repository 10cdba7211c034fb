// fast-check arbitraries for the codec's property tests: every message, capability and attribute,
// generated in the canonical domain form the decoder produces (so decode(encode(x)) ≡ x).

import fc from 'fast-check';
import { ipv6ToString } from './address.js';
import { AsPathSegmentType, AttrFlag, CapabilityCode, MessageType } from './constants.js';
import { attributeDescriptor } from './attributes.js';
import { makePrefix } from './prefix.js';
import type {
  AddPathOption,
  AsPathSegment,
  BgpMessage,
  Capability,
  CodecOptions,
  MpReach,
  MpUnreach,
  NotificationMessage,
  OpenMessage,
  PathAttributes,
  Prefix,
  RouteRefreshMessage,
  UnknownAttribute,
  UpdateMessage,
} from './types.js';

/** fc.record with ordinary prototypes (the decoder builds plain objects). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

/** Drops keys whose value is undefined (the decoder never sets them). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u8 = fc.integer({ min: 0, max: 255 });
export const ipv4 = fc.ipV4();
export const hostIpv4 = ipv4.filter((a) => {
  const first = Number(a.split('.')[0]);
  return first !== 0 && (first < 224 || first >= 240) && a !== '255.255.255.255';
});
export const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ipv6ToString(b));

export function prefixArb(afi: 4 | 6, addPath: boolean): fc.Arbitrary<Prefix> {
  const max = afi === 4 ? 32 : 128;
  return fc
    .record({
      length: fc.integer({ min: 0, max }),
      bytes: fc.uint8Array({ minLength: max / 8, maxLength: max / 8 }),
      pathId: addPath ? u32 : fc.constant(0),
    })
    .map(({ length, bytes, pathId }) => makePrefix(afi, bytes, length, pathId));
}

export const codecOptionsArb: fc.Arbitrary<CodecOptions> = rec({
  fourOctetAs: fc.boolean(),
  extendedMessage: fc.constant(true),
  addPath: fc
    .subarray([
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
      { afi: 1, safi: 2 },
      { afi: 2, safi: 2 },
    ])
    .map((fams) => fams.map((f): AddPathOption => ({ ...f, receive: true, send: true }))),
});

function addPathOn(opts: CodecOptions, afi: number, safi: number): boolean {
  return opts.addPath.some((a) => a.afi === afi && a.safi === safi && a.send && a.receive);
}

const segmentType = fc.constantFrom(
  AsPathSegmentType.AsSet,
  AsPathSegmentType.AsSequence,
  AsPathSegmentType.AsConfedSequence,
  AsPathSegmentType.AsConfedSet,
);

/** With a 2-octet peer, confederation segments lead and hold 2-octet ASNs (RFC 6793 §4.2.2 limits). */
export function asPathArb(fourOctetAs: boolean): fc.Arbitrary<AsPathSegment[]> {
  const asn = fc.oneof(u32, u16, fc.integer({ min: 64512, max: 65535 }));
  if (fourOctetAs) {
    return fc.array(rec({ type: segmentType, asns: fc.array(asn, { minLength: 1, maxLength: 20 }) }), { maxLength: 5 });
  }
  const confed = rec({
    type: fc.constantFrom(AsPathSegmentType.AsConfedSequence, AsPathSegmentType.AsConfedSet),
    asns: fc.array(u16, { minLength: 1, maxLength: 6 }),
  });
  const plain = rec({
    type: fc.constantFrom(AsPathSegmentType.AsSet, AsPathSegmentType.AsSequence),
    asns: fc.array(asn, { minLength: 1, maxLength: 20 }),
  });
  return fc.tuple(fc.array(confed, { maxLength: 2 }), fc.array(plain, { maxLength: 4 })).map(([c, p]) => [...c, ...p]);
}

const unknownTypes = Array.from({ length: 256 }, (_, i) => i).filter((t) => attributeDescriptor(t) === undefined);

export const unknownAttributesArb: fc.Arbitrary<UnknownAttribute[]> = fc
  .uniqueArray(rec({ type: fc.constantFrom(...unknownTypes), value: fc.uint8Array({ maxLength: 300 }) }), {
    selector: (u) => u.type,
    maxLength: 3,
  })
  .map((us) =>
    us
      .map((u) => ({ flags: AttrFlag.Optional | AttrFlag.Transitive | AttrFlag.Partial, type: u.type, value: u.value }))
      .sort((a, b) => a.type - b.type),
  );

export function pathAttributesArb(fourOctetAs: boolean, withNextHop: boolean): fc.Arbitrary<PathAttributes> {
  return fc
    .record({
      origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
      asPath: asPathArb(fourOctetAs),
      nextHop: withNextHop ? hostIpv4 : fc.option(hostIpv4, { nil: undefined }),
      med: fc.option(u32, { nil: undefined }),
      localPref: fc.option(u32, { nil: undefined }),
      atomicAggregate: fc.boolean(),
      aggregator: fc.option(rec({ asn: u32, address: ipv4 }), { nil: undefined }),
      communities: fc.option(fc.array(u32, { minLength: 1, maxLength: 70 }), { nil: undefined }),
      extendedCommunities: fc.option(
        fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { minLength: 1, maxLength: 5 }),
        {
          nil: undefined,
        },
      ),
      largeCommunities: fc.option(
        fc.array(rec({ globalAdmin: u32, localData1: u32, localData2: u32 }), { minLength: 1, maxLength: 5 }),
        {
          nil: undefined,
        },
      ),
      originatorId: fc.option(ipv4, { nil: undefined }),
      clusterList: fc.option(fc.array(ipv4, { minLength: 1, maxLength: 4 }), { nil: undefined }),
      unknown: unknownAttributesArb,
    })
    .map((a) => compact(a) as PathAttributes);
}

function mpReachArb(opts: CodecOptions): fc.Arbitrary<MpReach> {
  return fc
    .record({ afi: fc.constantFrom(1 as const, 2 as const), safi: fc.constantFrom(1, 2) })
    .chain(({ afi, safi }) =>
      fc
        .record({
          afi: fc.constant(afi),
          safi: fc.constant(safi),
          nextHop: afi === 1 ? fc.oneof(ipv4, ipv6) : ipv6,
          linkLocalNextHop: fc.option(ipv6, { nil: undefined }),
          nlri: fc.array(prefixArb(afi === 1 ? 4 : 6, addPathOn(opts, afi, safi)), { maxLength: 20 }),
        })
        .map((m) => compact(m.nextHop.includes(':') ? m : { ...m, linkLocalNextHop: undefined }) as MpReach),
    );
}

function mpUnreachArb(opts: CodecOptions): fc.Arbitrary<MpUnreach> {
  return fc
    .record({ afi: fc.constantFrom(1 as const, 2 as const), safi: fc.constantFrom(1, 2) })
    .chain(({ afi, safi }) =>
      rec({
        afi: fc.constant(afi),
        safi: fc.constant(safi),
        withdrawn: fc.array(prefixArb(afi === 1 ? 4 : 6, addPathOn(opts, afi, safi)), { maxLength: 20 }),
      }),
    );
}

export function updateArb(opts: CodecOptions): fc.Arbitrary<UpdateMessage> {
  const ap4 = addPathOn(opts, 1, 1);
  return fc
    .record({
      withdrawn: fc.array(prefixArb(4, ap4), { maxLength: 20 }),
      nlri: fc.array(prefixArb(4, ap4), { maxLength: 20 }),
      mpReach: fc.option(mpReachArb(opts), { nil: undefined }),
      mpUnreach: fc.option(mpUnreachArb(opts), { nil: undefined }),
    })
    .chain((u) => {
      const announces = u.nlri.length > 0 || u.mpReach !== undefined;
      return (announces ? pathAttributesArb(opts.fourOctetAs, u.nlri.length > 0) : fc.constant(undefined)).map(
        (attributes) => compact({ type: MessageType.Update, ...u, attributes }) as UpdateMessage,
      );
    });
}

const afiSafi = { afi: u16, safi: u8 };
const knownCapabilityCodes = new Set<number>([
  CapabilityCode.MultiProtocol,
  CapabilityCode.RouteRefresh,
  CapabilityCode.ExtendedMessage,
  CapabilityCode.GracefulRestart,
  CapabilityCode.FourOctetAs,
  CapabilityCode.AddPath,
  CapabilityCode.EnhancedRouteRefresh,
  CapabilityCode.LongLivedGracefulRestart,
  CapabilityCode.Fqdn,
]);
const asciiName = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-.'.split('')),
  maxLength: 60,
});

export const capabilityArb: fc.Arbitrary<Capability> = fc.oneof(
  rec({ kind: fc.constant('MultiProtocol' as const), ...afiSafi }),
  fc.constant({ kind: 'RouteRefresh' as const }),
  fc.constant({ kind: 'EnhancedRouteRefresh' as const }),
  fc.constant({ kind: 'ExtendedMessage' as const }),
  rec({ kind: fc.constant('FourOctetAs' as const), asn: u32 }),
  rec({
    kind: fc.constant('GracefulRestart' as const),
    restartFlags: fc.integer({ min: 0, max: 15 }),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    afis: fc.array(rec({ ...afiSafi, forwardingState: fc.boolean() }), { maxLength: 8 }),
  }),
  rec({
    kind: fc.constant('LongLivedGracefulRestart' as const),
    afis: fc.array(
      rec({ ...afiSafi, forwardingState: fc.boolean(), staleTime: fc.integer({ min: 0, max: 0xffffff }) }),
      { maxLength: 8 },
    ),
  }),
  rec({
    kind: fc.constant('AddPath' as const),
    afis: fc.array(rec({ ...afiSafi, sendReceive: u8 }), { minLength: 1, maxLength: 8 }),
  }),
  rec({ kind: fc.constant('Fqdn' as const), hostname: asciiName, domain: asciiName }),
  rec({
    kind: fc.constant('Unknown' as const),
    code: u8.filter((c) => !knownCapabilityCodes.has(c)),
    value: fc.uint8Array({ maxLength: 40 }),
  }),
);

export const openArb: fc.Arbitrary<OpenMessage> = rec({
  type: fc.constant(MessageType.Open),
  version: fc.constant(4),
  myAs: u16,
  holdTime: u16.filter((h) => h !== 1 && h !== 2),
  bgpId: ipv4.filter((a) => a !== '0.0.0.0'),
  capabilities: fc.array(capabilityArb, { maxLength: 12 }),
});

export const notificationArb: fc.Arbitrary<NotificationMessage> = rec({
  type: fc.constant(MessageType.Notification),
  code: u8,
  subcode: u8,
  data: fc.uint8Array({ maxLength: 200 }),
});

export const routeRefreshArb: fc.Arbitrary<RouteRefreshMessage> = rec({
  type: fc.constant(MessageType.RouteRefresh),
  afi: u16,
  safi: u8,
  subtype: u8,
});

export function messageArb(opts: CodecOptions): fc.Arbitrary<BgpMessage> {
  return fc.oneof(
    openArb,
    updateArb(opts),
    notificationArb,
    fc.constant({ type: MessageType.Keepalive } as const),
    routeRefreshArb,
  );
}
