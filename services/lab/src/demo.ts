// `meshless demo`: the end-to-end topology on the user's machine (network namespaces, as root),
// the whole tour with a live view, torn down on exit:
//   1. the control plane starts, the operator's resources are applied (as `meshless apply`
//      would) and the pods are made through the CNI plugin (bin/meshless-cni);
//   2. agents and reflectors start: the ping matrix turns green, through the switch (TTL 61);
//   3. churn: a new pod on node-2 (CNI ADD) is reachable;
//   4. a route deleted by hand on node-1 comes back;
//   5. kill -9 a reflector and restart it warm: the pings do not stop.
// The view (redrawn every second on a terminal) shows the switch's sessions and routes, the
// routes each agent programmed, the ping matrix and the events with their timings.
import { netnsSkipReason } from '../../testing/index.js';
import { waitFor } from '../../shared/testing/index.js';
import { createMeshlessLab, reflectorUnavailable, type MeshlessLab } from './meshless.js';
import { PingMesh, switchKernelRoutes, switchSessions } from './scenario.js';
import type { ContinuousPing } from './ping.js';
import type { Pod } from './topology.js';

export interface DemoOptions {
  /** Where the view goes. */
  readonly out: { write(text: string): unknown };
  /** Redraw the whole view in place (a terminal) instead of printing events as lines. */
  readonly live: boolean;
  /** Tear down after the tour instead of waiting for the signal. */
  readonly once: boolean;
  /** Aborted on Ctrl-C / SIGTERM: stop the tour and tear down. */
  readonly signal: AbortSignal;
}

class Aborted extends Error {}

export async function runDemo(o: DemoOptions): Promise<void> {
  const reason = netnsSkipReason();
  if (reason) throw new Error(`the demo builds network namespaces: ${reason}`);
  const rrReason = await reflectorUnavailable();
  const t0 = Date.now();
  const events: string[] = [];
  const event = (text: string): void => {
    const line = `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${text}`;
    events.push(line);
    if (!o.live) o.out.write(`${line}\n`);
  };
  const checkAbort = (): void => {
    if (o.signal.aborted) throw new Aborted('interrupted');
  };

  event('building the topology: fabric bridge, BIRD switch (AS 65000), control namespace, 3 nodes with 2 pods each');
  if (rrReason) event(`reflectors: not started: ${rrReason}; pods reach only pods on their own node`);
  let lab: MeshlessLab | undefined;
  const mesh = new PingMesh(200);
  let timer: NodeJS.Timeout | undefined;
  try {
    lab = await createMeshlessLab({ prefix: 'demo', withReflectors: !rrReason });
    const l = lab;
    event(
      `control plane up (nats-server, meshless datastore, meshless sync); resources applied; logs in ${l.cluster.dir}`,
    );
    checkAbort();
    const pods = (): Pod[] => [...l.topo.pods.values()];
    for (const a of pods()) for (const b of pods()) if (a !== b) mesh.add(a, b);
    if (o.live) {
      let drawing = false;
      timer = setInterval(() => {
        if (drawing) return;
        drawing = true;
        void render(l, mesh, events, rrReason)
          .then((frame) => o.out.write(`\x1b[H\x1b[2J${frame}`))
          .catch(() => undefined)
          .finally(() => (drawing = false));
      }, 1000);
    }

    const expectReachable = (): ContinuousPing[] => mesh.pingers.filter((p) => !rrReason || sameNode(l, p));
    const s0 = Date.now();
    l.startRouting();
    event(
      rrReason
        ? 'starting 3 agents (--dataplane linux)'
        : 'starting 3 agents (--dataplane linux) and 2 route reflectors (cluster id 244.0.0.1)',
    );
    const converged = await race(o.signal, mesh.convergedAfter(s0, expectReachable(), 120_000));
    event(
      `converged: ${expectReachable().length} pod pairs answer, ${Math.round(converged)} ms after start${rrReason ? '' : ' (cross-node replies carry TTL 61: through the switch)'}`,
    );
    checkAbort();

    const { pod: added, started: a0, returned: a1 } = await l.pods.add('node-2', 'pod-2c');
    const toAdded = [
      mesh.add(l.topo.pods.get(rrReason ? 'pod-2a' : 'pod-1a')!, added),
      mesh.add(added, l.topo.pods.get('pod-2a')!),
    ];
    event(
      `churn: CNI ADD of pod-2c on node-2 gave it ${added.ip} (a new block: node-2's was full; the ADD took ${a1 - a0} ms)`,
    );
    const reach = Math.round(await race(o.signal, mesh.convergedAfter(a0, toAdded, 60_000)));
    event(`pod-2c reachable ${reach} ms after the ADD started, ${Math.max(0, a0 + reach - a1)} ms after it returned`);
    checkAbort();

    const victim = l.topo.pods.get('pod-1a')!;
    const d0 = Date.now();
    await l.topo.node('node-1').ns.exec('ip', ['route', 'del', `${victim.ip}/32`, 'proto', '80']);
    event(`deleted the route to pod-1a (${victim.ip}) by hand on node-1`);
    await race(
      o.signal,
      waitFor(
        'the route back',
        async () => (await l.nodeRoutes('node-1')).includes(`${victim.ip} dev ${victim.hostInterface}`),
        30_000,
      ),
    );
    event(`node-1's agent restored it in ${Date.now() - d0} ms`);
    await sleep(o.signal, 1000);

    if (!rrReason) {
      await race(o.signal, mesh.settle(mesh.pingers.filter((p) => !sameNode(l, p))));
      const k0 = Date.now();
      await l.cluster.process('rr-1').kill9();
      event('kill -9 rr-1');
      await sleep(o.signal, 2000);
      l.cluster.startReflector('rr-1', l.reflectors[0]!.address);
      event('restarting rr-1 from its LMDB state (warm restart)');
      await race(
        o.signal,
        waitFor(
          'rr-1 established',
          async () =>
            (await switchSessions(l.sw)).some(
              (s) => s.name.includes(l.reflectors[0]!.address.replace(/\./g, '_')) && /Established/.test(s.state),
            ),
          60_000,
        ),
      );
      await sleep(o.signal, 1000);
      const lost = mesh.lossesBetween(
        k0,
        Date.now(),
        mesh.pingers.filter((p) => !sameNode(l, p)),
      );
      event(
        `rr-1 back after ${Date.now() - k0} ms; echoes lost across the fault: ${lost.reduce((n, x) => n + x.lost, 0)}${lost.length ? ` (${lost.map((x) => `${x.pair} ${x.lost}`).join(', ')})` : ''}`,
      );
    }

    if (o.once) event('tour done; tearing down');
    else {
      event('tour done; the topology stays up (ip netns list shows it): Ctrl-C tears it down');
      await new Promise<void>((resolve) =>
        o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
  } catch (err) {
    if (!(err instanceof Aborted)) throw err;
  } finally {
    if (timer) clearInterval(timer);
    if (o.live && lab)
      o.out.write(`\x1b[H\x1b[2J${await render(lab, mesh, events, rrReason).catch(() => events.join('\n'))}`);
    o.out.write('tearing down: stopping processes, deleting namespaces\n');
    await mesh.stop();
    await lab?.destroy();
  }
}

function sameNode(lab: MeshlessLab, p: ContinuousPing): boolean {
  const [a, b] = p.label.split('→');
  return lab.topo.pods.get(a!)?.node === lab.topo.pods.get(b!)?.node;
}

function race<T>(signal: AbortSignal, p: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(new Aborted('interrupted'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Aborted('interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(signal: AbortSignal, ms: number): Promise<void> {
  return race(signal, new Promise((r) => setTimeout(r, ms)));
}

async function render(
  lab: MeshlessLab,
  mesh: PingMesh,
  events: readonly string[],
  rrReason: string | undefined,
): Promise<string> {
  const lines: string[] = [
    'Meshless demo: pods on 3 nodes, a BIRD ToR switch, no BGP on the nodes (Ctrl-C tears down)',
    '',
  ];
  const sessions = await switchSessions(lab.sw);
  lines.push(
    `switch sessions: ${sessions.length === 0 ? 'none' : sessions.map((s) => `${s.name.replace(/^peer_/, '').replace(/_/g, '.')} ${s.state || '?'}`).join(', ')}${rrReason ? '  (reflectors not started)' : ''}`,
  );
  const routes = [...(await switchKernelRoutes(lab.topo))].sort();
  const nodeOf = new Map(lab.topo.nodes.map((n) => [n.address, n.name]));
  lines.push(
    `switch routes:   ${routes.length === 0 ? 'none' : routes.map(([p, nh]) => `${p} → ${nodeOf.get(nh) ?? nh}`).join(', ')}`,
  );
  for (const n of lab.topo.nodes) lines.push(`${n.name} (agent): ${(await lab.nodeRoutes(n.name)).join(', ')}`);
  lines.push('', 'ping matrix (reply TTL in the last second; 61 = through the switch, 63 = same node, · = no reply):');
  const pods = [...lab.topo.pods.values()];
  lines.push(`${''.padEnd(8)}${pods.map((p) => p.name.padStart(8)).join('')}`);
  const now = Date.now();
  for (const a of pods) {
    const cells = pods.map((b) => {
      if (a === b) return '-'.padStart(8);
      const p = mesh.pingers.find((x) => x.label === `${a.name}→${b.name}`);
      const at = p?.lastReplyAt();
      return (at !== undefined && now - at < 1000 ? String(p!.lastTtl()) : '·').padStart(8);
    });
    lines.push(`${a.name.padEnd(8)}${cells.join('')}`);
  }
  lines.push('', 'events:', ...events.slice(-14));
  return `${lines.join('\n')}\n`;
}
