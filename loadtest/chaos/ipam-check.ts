// The chaos suite's IPAM check on the KV's final content: no two IPAMBlocks overlap, no CIDR is
// claimed by two BlockAffinities, and a block's `affinity` agrees with the affinity claiming it.
import { KIND_TOKENS } from '../../services/shared/nats/index.js';
import { parseCidr } from '../../services/shared/resources/index.js';

interface Spec {
  cidr: string;
  affinity?: string | null;
  node?: string;
  state?: string;
}

export function ipamProblems(contents: Map<string, Uint8Array>): { blocks: number; problems: string[] } {
  const specs = (kind: keyof typeof KIND_TOKENS) =>
    [...contents]
      .filter(([key]) => key.startsWith(`${KIND_TOKENS[kind]}.`))
      .map(([, bytes]) => JSON.parse(Buffer.from(bytes).toString()) as { metadata: { name: string }; spec: Spec });
  const problems: string[] = [];
  const blocks = specs('IPAMBlock')
    .map((b) => ({ name: b.metadata.name, spec: b.spec, range: range(b.spec.cidr) }))
    .sort((a, b) => (a.range.start < b.range.start ? -1 : a.range.start > b.range.start ? 1 : 0));
  // Sorted by start, a block overlaps another exactly when it starts before the previous one ends.
  for (let i = 1; i < blocks.length; i++) {
    if (blocks[i]!.range.start <= blocks[i - 1]!.range.end)
      problems.push(`IPAMBlocks ${blocks[i - 1]!.name} and ${blocks[i]!.name} overlap`);
  }
  const claims = new Map<string, string[]>();
  for (const a of specs('BlockAffinity'))
    claims.set(a.spec.cidr, [
      ...(claims.get(a.spec.cidr) ?? []),
      `${a.metadata.name} (${a.spec.node}, ${a.spec.state})`,
    ]);
  for (const [cidr, by] of claims)
    if (by.length > 1) problems.push(`block ${cidr} claimed by ${by.length} affinities: ${by.join(', ')}`);
  for (const b of blocks) {
    const owner = b.spec.affinity?.startsWith('host:') ? b.spec.affinity.slice(5) : undefined;
    const claim = claims.get(b.spec.cidr)?.[0];
    if (owner && claim && !claim.includes(`(${owner},`))
      problems.push(`IPAMBlock ${b.name} belongs to ${owner} but is claimed by ${claim}`);
  }
  return { blocks: blocks.length, problems };
}

function range(cidr: string): { start: bigint; end: bigint } {
  const c = parseCidr(cidr);
  const start = c.address.reduce((n, byte) => (n << 8n) + BigInt(byte), 0n);
  return { start, end: start + (1n << BigInt(c.address.length * 8 - c.prefixLength)) - 1n };
}
