// Who may open which sync stream, from the client's certificate (shared/tls), decided once per
// stream when its hello arrives. The node comes from the certificate: a hello naming another
// node is refused, never believed.
//
//   role                  syncer   node in the hello
//   node                  agent    its own, and a Node of that name must exist
//   reflector             bgp      its own, and a Node of that name must exist
//   admin, read-only      any      any (operators' tools, load tests)
//   anyone else           refused
//
// One stream per node and reflector identity: a second one replaces the first (the first ends
// with ABORTED), so a stolen-then-reused credential or a restarted agent never holds two views,
// and abandoned streams cannot pile up per node. An insecure server allows everything.
import type { Caller } from '../../../shared/tls/index.js';
import type { SyncerType } from '../view/index.js';

export type HelloDecision =
  | {
      readonly ok: true /** Streams with the same key replace each other; undefined: no limit. */;
      readonly exclusiveKey: string | undefined;
    }
  | { readonly ok: false; readonly reason: string };

const EXPECTED_SYNCER: Partial<Record<string, SyncerType>> = { node: 'agent', reflector: 'bgp' };

export function authorizeHello(
  caller: Caller,
  hello: { syncer: SyncerType; node: string },
  nodeExists: (name: string) => boolean,
): HelloDecision {
  if (caller.kind === 'insecure') return { ok: true, exclusiveKey: undefined };
  if (caller.kind === 'unidentified')
    return { ok: false, reason: `an unidentified client (${caller.reason}) may not sync` };
  const { role, name } = caller.identity;
  if (role === 'admin' || role === 'read-only') return { ok: true, exclusiveKey: undefined };
  const syncer = EXPECTED_SYNCER[role];
  if (!syncer) return { ok: false, reason: `${role} '${name}' may not sync` };
  if (hello.syncer !== syncer)
    return { ok: false, reason: `${role} '${name}' may follow only the ${syncer} view, not ${hello.syncer}` };
  if (hello.node !== name)
    return {
      ok: false,
      reason: `${role} '${name}' may not follow the view of node '${hello.node}' (its certificate names '${name}')`,
    };
  if (!nodeExists(name)) return { ok: false, reason: `node '${name}' is unknown: no Node resource of that name` };
  return { ok: true, exclusiveKey: `${role}/${name}` };
}
