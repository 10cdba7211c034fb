// bench:fanout's check of what the agents received: every agent digests its snapshot chunks
// (CRC-32 of their bytes, computed as they arrive, worker.ts), and agents of the same node, which
// are sent the same view at the same revision during a cold start, must hold the same digest.
// A server that sent one agent a truncated, reordered or another node's snapshot shows up here
// without the load generator decoding 77 KB per agent (an agent decodes it; the bench measures the
// servers, and decoding would double the load generator's share of the two cores).

/** One worker's report: per agent, its node and its snapshot digest (0: no snapshot received). */
export interface AgentDigests {
  nodes: string[];
  digests: number[];
}

export interface SnapshotContentCheck {
  /** Nodes with at least one agent. */
  nodes: number;
  /** Most distinct digests among the agents of one node (1 when every node's agents agree). */
  digestsPerNodeMax: number;
  /** Agents whose digest differs from the one most of their node's agents hold. */
  agentsDiffering: number;
  /** Agents in sync without any snapshot bytes. */
  agentsWithoutSnapshot: number;
}

export function checkSnapshotContent(reports: readonly AgentDigests[]): SnapshotContentCheck {
  const byNode = new Map<string, Map<number, number>>();
  let agentsWithoutSnapshot = 0;
  for (const r of reports) {
    if (r.nodes.length !== r.digests.length)
      throw new Error(`digest report: ${r.nodes.length} nodes but ${r.digests.length} digests`);
    r.nodes.forEach((node, i) => {
      const d = r.digests[i]!;
      if (d === 0) agentsWithoutSnapshot++;
      let counts = byNode.get(node);
      if (!counts) byNode.set(node, (counts = new Map()));
      counts.set(d, (counts.get(d) ?? 0) + 1);
    });
  }
  let digestsPerNodeMax = 0;
  let agentsDiffering = 0;
  for (const counts of byNode.values()) {
    digestsPerNodeMax = Math.max(digestsPerNodeMax, counts.size);
    let total = 0;
    let most = 0;
    for (const n of counts.values()) {
      total += n;
      most = Math.max(most, n);
    }
    agentsDiffering += total - most;
  }
  return { nodes: byNode.size, digestsPerNodeMax, agentsDiffering, agentsWithoutSnapshot };
}
