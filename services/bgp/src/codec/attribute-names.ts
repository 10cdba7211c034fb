// Names and expected flags of the path attributes the codec interprets (RFC 4271 §5 and the RFCs
// cited in constants.ts), shared by the decoder and the encoder.

import { AttrFlag, AttrType } from './constants.js';

const WELL_KNOWN = AttrFlag.Transitive;
const OPTIONAL_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;
const OPTIONAL = AttrFlag.Optional;

/** The Optional and Transitive bits each known attribute must carry. */
export const EXPECTED_FLAGS: Readonly<Record<number, number>> = {
  [AttrType.Origin]: WELL_KNOWN,
  [AttrType.AsPath]: WELL_KNOWN,
  [AttrType.NextHop]: WELL_KNOWN,
  [AttrType.MultiExitDisc]: OPTIONAL,
  [AttrType.LocalPref]: WELL_KNOWN,
  [AttrType.AtomicAggregate]: WELL_KNOWN,
  [AttrType.Aggregator]: OPTIONAL_TRANSITIVE,
  [AttrType.Communities]: OPTIONAL_TRANSITIVE,
  [AttrType.OriginatorId]: OPTIONAL,
  [AttrType.ClusterList]: OPTIONAL,
  [AttrType.MpReachNlri]: OPTIONAL,
  [AttrType.MpUnreachNlri]: OPTIONAL,
  [AttrType.ExtendedCommunities]: OPTIONAL_TRANSITIVE,
  [AttrType.As4Path]: OPTIONAL_TRANSITIVE,
  [AttrType.As4Aggregator]: OPTIONAL_TRANSITIVE,
  [AttrType.LargeCommunities]: OPTIONAL_TRANSITIVE,
};

export const ATTR_NAMES: Readonly<Record<number, string>> = {
  [AttrType.Origin]: 'ORIGIN',
  [AttrType.AsPath]: 'AS_PATH',
  [AttrType.NextHop]: 'NEXT_HOP',
  [AttrType.MultiExitDisc]: 'MULTI_EXIT_DISC',
  [AttrType.LocalPref]: 'LOCAL_PREF',
  [AttrType.AtomicAggregate]: 'ATOMIC_AGGREGATE',
  [AttrType.Aggregator]: 'AGGREGATOR',
  [AttrType.Communities]: 'COMMUNITIES',
  [AttrType.OriginatorId]: 'ORIGINATOR_ID',
  [AttrType.ClusterList]: 'CLUSTER_LIST',
  [AttrType.MpReachNlri]: 'MP_REACH_NLRI',
  [AttrType.MpUnreachNlri]: 'MP_UNREACH_NLRI',
  [AttrType.ExtendedCommunities]: 'EXTENDED_COMMUNITIES',
  [AttrType.As4Path]: 'AS4_PATH',
  [AttrType.As4Aggregator]: 'AS4_AGGREGATOR',
  [AttrType.LargeCommunities]: 'LARGE_COMMUNITY',
};

export function attrName(type: number): string {
  return ATTR_NAMES[type] ?? `attribute type ${type}`;
}

/** The flags octet for an attribute value of `length` octets (RFC 4271 §4.3 Extended Length). */
export function attrFlags(base: number, length: number): number {
  return length > 255 ? base | AttrFlag.ExtendedLength : base & ~AttrFlag.ExtendedLength;
}
