// What both end-to-end runs share: the addressing plan, the ping mesh between pods of different
// nodes, the switch checks, and the figures a run reports.
import { startBird, type BirdHandle } from '../../testing/index.js';
import { switchConfig, switchProtocolName, type SwitchPeer } from './bird-configs.js';
import { ContinuousPing, pingOnce } from './ping.js';
import { SWITCH_ADDRESS, type Pod, type Topology } from './topology.js';

export const POOL = '10.65.0.0/16';
export const BLOCK_SIZE = 26;

/** Reply TTL between pods on different nodes: pod → node → switch → node → pod, three routers. */
export const CROSS_NODE_TTL = 61;

/** The harness's block for node-N (1-based) in the Calico-classic run: the N-th /26 of the pool. */
export function blockOf(nodeIndex: number): string {
  return `10.65.${((nodeIndex - 1) * 64) >> 8}.${((nodeIndex - 1) * 64) & 255}/${BLOCK_SIZE}`;
}

/** The `ordinal`-th address of an IPv4 block. */
export function addressIn(block: string, ordinal: number): string {
  const [base] = block.split('/');
  const parts = base!.split('.').map(Number);
  const n = (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]! + ordinal) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export async function startSwitch(topo: Topology, peers: readonly SwitchPeer[]): Promise<BirdHandle> {
  return startBird({ netns: topo.switchNs, address: SWITCH_ADDRESS, config: switchConfig(SWITCH_ADDRESS, peers) });
}

/** The switch's BGP sessions that are Established, by peer address. */
export async function establishedPeers(sw: BirdHandle, candidates: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of candidates) {
    const p = await sw.protocol(switchProtocolName(a)).catch(() => undefined);
    if (p?.bgpState === 'Established') out.push(a);
  }
  return out;
}

/** Every BGP protocol the switch has, with its state (to prove no node has a session). */
export async function switchSessions(sw: BirdHandle): Promise<Array<{ name: string; state: string }>> {
  const out = await sw.birdc('show protocols');
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c[1] === 'BGP')
    .map((c) => ({ name: c[0]!, state: c.slice(5).join(' ') }));
}

/** The switch's kernel routes learned by BIRD: prefix → next hop. */
export async function switchKernelRoutes(topo: Topology): Promise<Map<string, string>> {
  const { stdout } = await topo.switchNs.exec('ip', ['-j', 'route', 'show', 'proto', 'bird']);
  const rows = JSON.parse(stdout.trim() || '[]') as Array<{ dst: string; gateway?: string }>;
  return new Map(rows.map((r) => [r.dst.includes('/') ? r.dst : `${r.dst}/32`, r.gateway ?? '']));
}

/**
 * Polls `probe` (errors count as "not yet") every 20 ms until it holds; rejects after `timeoutMs`,
 * or at once when `giveUp` returns a reason (a process the wait depends on has died).
 */
export async function waitUntil(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  giveUp?: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = giveUp?.();
    if (reason) throw new Error(`gave up waiting for ${what}: ${reason}`);
    if (
      await Promise.resolve()
        .then(probe)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A ping from every pod to every pod on another node, running for the whole run. */
export class PingMesh {
  readonly pingers: ContinuousPing[] = [];

  constructor(readonly intervalMs = 50) {}

  add(from: Pod, to: Pod): ContinuousPing {
    const p = new ContinuousPing(from.ns, to.ip, `${from.name}→${to.name}`, this.intervalMs);
    this.pingers.push(p);
    return p;
  }

  /** Adds pingers for every ordered pair of pods on different nodes. */
  addCrossNode(pods: Iterable<Pod>): void {
    const list = [...pods];
    for (const a of list) for (const b of list) if (a.node !== b.node) this.add(a, b);
  }

  involving(podName: string): ContinuousPing[] {
    return this.pingers.filter((p) => p.label.split('→').includes(podName));
  }

  /**
   * Waits until each of `pingers` got a reply at or after `since`; returns ms from `since` to the
   * last first reply. `giveUp` is asked on every poll: a reason (a crashed process) ends the wait.
   */
  async convergedAfter(
    since: number,
    pingers: readonly ContinuousPing[],
    timeoutMs: number,
    giveUp?: () => string | undefined,
  ): Promise<number> {
    await waitUntil(
      `replies on ${pingers.length} ping pairs`,
      () => pingers.every((p) => p.firstReplyAfter(since) !== undefined),
      timeoutMs,
      giveUp,
    ).catch((err: Error) => {
      const missing = pingers.filter((p) => p.firstReplyAfter(since) === undefined).map((p) => p.describe());
      throw new Error(`${err.message}; still unreachable: ${missing.join('; ')}`);
    });
    return Math.max(...pingers.map((p) => p.firstReplyAfter(since)!)) - since;
  }

  /**
   * Waits until `pingers` lost nothing during the last `quietMs` (the network settled after the
   * previous step), so a loss counted in the next window belongs to that window's change.
   */
  async settle(pingers: readonly ContinuousPing[], quietMs = 1000, timeoutMs = 30_000): Promise<void> {
    const start = Date.now();
    await waitUntil(
      `${quietMs} ms without a lost echo`,
      () => Date.now() - start >= quietMs && this.lossesBetween(Date.now() - quietMs, Date.now(), pingers).length === 0,
      timeoutMs,
    );
  }

  /** Pairs (of `pingers`) that lost echoes in the window, with the count. */
  lossesBetween(
    from: number,
    to: number,
    pingers: readonly ContinuousPing[] = this.pingers,
  ): Array<{ pair: string; lost: number }> {
    return pingers.map((p) => ({ pair: p.label, lost: p.lostBetween(from, to) })).filter((x) => x.lost > 0);
  }

  async stop(pingers: readonly ContinuousPing[] = this.pingers): Promise<void> {
    await Promise.all(pingers.map((p) => p.stop()));
    for (const p of pingers) this.pingers.splice(this.pingers.indexOf(p), 1);
  }
}

/** One ping per ordered cross-node pair; the pairs that failed or did not show the switch hop. */
export async function pingMatrix(pods: Iterable<Pod>): Promise<{ pairs: number; bad: string[] }> {
  const list = [...pods];
  const jobs: Array<Promise<string | undefined>> = [];
  for (const a of list) {
    for (const b of list) {
      if (a.node === b.node) continue;
      jobs.push(
        pingOnce(a.ns, b.ip).then((r) => {
          if (!r.ok) return `${a.name}→${b.name} (${b.ip}): no reply`;
          if (r.ttl !== CROSS_NODE_TTL)
            return `${a.name}→${b.name}: reply TTL ${r.ttl}, expected ${CROSS_NODE_TTL} (through the switch)`;
          return undefined;
        }),
      );
    }
  }
  const results = await Promise.all(jobs);
  return { pairs: jobs.length, bad: results.filter((x): x is string => x !== undefined) };
}

/** Figures of one run, in ms (undefined: not measured in this run). */
export interface RunFigures {
  setup: string;
  /** From starting the routing components to every cross-node pair answering. */
  initialConvergenceMs: number;
  /** A new pod on a node whose block is already routed: from the change to replies. */
  addPodMs: number;
  /** A pod whose address is borrowed from another node's block: from the change to replies. */
  borrowedPodMs: number;
  /** Echoes lost by the other pairs while a pod was deleted. */
  deleteLostEchoes: number;
  /** Faults (Meshless only): echoes lost, and time to repair. */
  faults?: Record<string, number>;
}
