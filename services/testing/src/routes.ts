// Test helpers on top of a BgpSpeaker: announce and withdraw routes with the negotiated codec
// options, and collect what peers send into a table keyed by prefix (later announcements replace
// earlier ones, withdrawals delete), so tests can wait for routes and compare attributes.
import {
  encodeAttributes,
  packUpdates,
  packWithdrawals,
  parsePrefix,
  prefixToString,
  Origin,
  AsPathSegmentType,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
} from '../../bgp/index.js';
import type { BgpSpeaker } from '../../bgp/index.js';
import { poll } from './daemon.js';

export interface CollectedRoute {
  peer: string;
  prefix: string;
  attributes: PathAttributes;
  /** Classic NEXT_HOP for IPv4, MP_REACH next hop otherwise. */
  nextHop: string | undefined;
}

/** The table of routes received from peers, as the layer above would keep it (one path per prefix and peer). */
export class RouteCollector {
  /** Key: `${peer} ${prefix}` (with `#pathId` under ADD-PATH). */
  readonly routes = new Map<string, CollectedRoute>();
  /** `${peer} ${afi}/${safi}` of every End-of-RIB seen. */
  readonly endOfRib = new Set<string>();
  updates = 0;
  private readonly detach: () => void;

  constructor(private readonly speaker: BgpSpeaker) {
    const onUpdate = ({ peer, update }: { peer: string; update: UpdateMessage }): void => this.apply(peer, update);
    const onEor = ({ peer, afi, safi }: { peer: string; afi: number; safi: number }): void =>
      void this.endOfRib.add(`${peer} ${afi}/${safi}`);
    speaker.on('update', onUpdate);
    speaker.on('endOfRib', onEor);
    this.detach = () => {
      speaker.off('update', onUpdate);
      speaker.off('endOfRib', onEor);
    };
  }

  route(peer: string, prefix: string): CollectedRoute | undefined {
    return this.routes.get(`${peer} ${prefix}`);
  }

  /** Prefixes currently held from `peer`. */
  prefixes(peer: string): string[] {
    return [...this.routes.values()].filter((r) => r.peer === peer).map((r) => r.prefix);
  }

  async waitForRoute(peer: string, prefix: string, timeoutMs = 20_000): Promise<CollectedRoute> {
    return poll(`route ${prefix} from ${peer}`, async () => this.route(peer, prefix), timeoutMs);
  }

  async waitForCount(peer: string, count: number, timeoutMs = 20_000): Promise<void> {
    await poll(
      `${count} routes from ${peer} (have ${this.prefixes(peer).length})`,
      async () => (this.prefixes(peer).length >= count ? true : undefined),
      timeoutMs,
    );
  }

  async waitForEndOfRib(peer: string, afi: number, safi = 1, timeoutMs = 20_000): Promise<void> {
    await poll(
      `End-of-RIB ${afi}/${safi} from ${peer}`,
      async () => (this.endOfRib.has(`${peer} ${afi}/${safi}`) ? true : undefined),
      timeoutMs,
    );
  }

  /** Forgets everything from `peer` (its session went down without graceful restart). */
  clear(peer: string): void {
    for (const [k, r] of this.routes) if (r.peer === peer) this.routes.delete(k);
  }

  stop(): void {
    this.detach();
  }

  private key(peer: string, p: Prefix): string {
    return `${peer} ${prefixToString(p)}${p.pathId ? `#${p.pathId}` : ''}`;
  }

  private apply(peer: string, u: UpdateMessage): void {
    this.updates++;
    for (const p of u.withdrawn) this.routes.delete(this.key(peer, p));
    for (const p of u.mpUnreach?.withdrawn ?? []) this.routes.delete(this.key(peer, p));
    if (!u.attributes) return;
    for (const p of u.nlri)
      this.routes.set(this.key(peer, p), {
        peer,
        prefix: prefixToString(p),
        attributes: u.attributes,
        nextHop: u.attributes.nextHop,
      });
    for (const p of u.mpReach?.nlri ?? [])
      this.routes.set(this.key(peer, p), {
        peer,
        prefix: prefixToString(p),
        attributes: u.attributes,
        nextHop: u.mpReach!.nextHop,
      });
  }
}

/** Attributes for routes we originate: AS_PATH [localAs] (eBGP) or empty (iBGP), ORIGIN IGP. */
export function originAttributes(
  localAs: number | undefined,
  extra: Partial<Omit<PathAttributes, 'unknown'>> & { unknown?: PathAttributes['unknown'] } = {},
): PathAttributes {
  return {
    origin: Origin.Igp,
    asPath: localAs === undefined ? [] : [{ type: AsPathSegmentType.AsSequence, asns: [localAs] }],
    atomicAggregate: false,
    unknown: [],
    ...extra,
  };
}

/**
 * Announces `prefixes` (text, IPv4 or IPv6) to an Established peer with one attribute set.
 * IPv4 prefixes use `attributes.nextHop`; IPv6 ones need `nextHop6`.
 */
export async function announce(
  speaker: BgpSpeaker,
  peer: string,
  prefixes: readonly string[],
  attributes: PathAttributes,
  nextHop6?: string,
): Promise<number> {
  const opts = speaker.negotiated(peer);
  if (!opts) throw new Error(`announce: peer ${peer} is not Established`);
  const bytes = encodeAttributes(attributes, opts);
  const messages = packUpdates(
    prefixes.map((p) => parsePrefix(p)),
    bytes,
    opts,
    undefined,
    nextHop6 ? { nextHop: nextHop6 } : undefined,
  );
  await speaker.sendAll(peer, messages);
  return messages.length;
}

export async function withdraw(speaker: BgpSpeaker, peer: string, prefixes: readonly string[]): Promise<void> {
  const opts = speaker.negotiated(peer);
  if (!opts) throw new Error(`withdraw: peer ${peer} is not Established`);
  await speaker.sendAll(
    peer,
    packWithdrawals(
      prefixes.map((p) => parsePrefix(p)),
      opts,
    ),
  );
}

/** Resolves when the speaker reports `peer` in `state` (checks the current state first). */
export async function waitForPeerState(
  speaker: BgpSpeaker,
  peer: string,
  state: string,
  timeoutMs = 30_000,
): Promise<void> {
  await poll(
    `our session with ${peer} in state ${state} (now ${speaker.peer(peer)?.state})`,
    async () => (speaker.peer(peer)?.state === state ? true : undefined),
    timeoutMs,
  );
}
