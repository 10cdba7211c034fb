// TCP-MD5 (RFC 2385) and GTSM (RFC 5082) against a real daemon, in a network namespace the suite
// creates (root). Our speakers each bind their own address, the daemon one v4 and one v6 address:
//
//   md5      v4  same password on both sides ─────────────────────────── Established
//   md5v6    v6  same password, GTSM on both sides (IPV6_MINHOPCOUNT) ── Established
//   gtsm     v4  GTSM on both sides (TTL 255, minimum 255) ───────────── Established
//   wrong    v4  different passwords ──────────────────── never up; the kernel counts MD5 failures
//   low      v4  we want GTSM; the daemon sends TTL 2 (as a peer 254 hops away would, or a spoofer
//                off the link) ─────────────────────── never up; dropped by IP_MINTTL / the SYN check
//
// Both sides connect (neither is passive), so our connecting and our listening sockets are both
// exercised. Daemons are plugged in through a SecurityAdapter.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpSpeaker } from '../../bgp/index.js';
import { createNetns, netnsSkipReason, type Netns, type NetnsTransport } from './netns.js';
import { poll } from './daemon.js';
import { waitForPeerState } from './routes.js';
import { sockoptAddon } from '../../bgp/index.js';

export interface SecurityNeighbor {
  /** Daemon-side name (BIRD protocol name; `sec_` and the scenario: `md5` alone is a BIRD keyword). */
  name: string;
  ours: string;
  ourAs: number;
  /** The daemon's address for this session. */
  local: string;
  family: 'ipv4' | 'ipv6';
  /** The daemon's password for this session, if any. */
  password?: string;
  /** GTSM on the daemon: `on` (TTL 255, 1 hop), `low` (no GTSM, sends TTL 2). */
  ttl?: 'on' | 'low';
}

export interface SecurityPlan {
  as: number;
  routerId: string;
  v4: string;
  v6: string;
  neighbors: SecurityNeighbor[];
}

export interface SecurityAdapter {
  name: string;
  skipReason(): string | undefined;
  start(ns: Netns, plan: SecurityPlan): Promise<void>;
  waitEstablished(n: SecurityNeighbor, timeoutMs?: number): Promise<void>;
  isEstablished(n: SecurityNeighbor): Promise<boolean>;
  diagnostics(): string;
  stop(): Promise<void>;
}

const DAEMON_AS = 65001;

/** TcpExt counters of the namespace's kernel (/proc/net/netstat). */
async function tcpExt(ns: Netns): Promise<Record<string, number>> {
  const { stdout } = await ns.exec('cat', ['/proc/net/netstat']);
  const lines = stdout.split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0]));
}

export function securitySuite(adapter: SecurityAdapter): void {
  const skip = netnsSkipReason() ?? adapter.skipReason();
  describe(`TCP-MD5 and GTSM with ${adapter.name}`, { skip: skip ?? false }, () => {
    let ns: Netns;
    let transport: NetnsTransport;
    const speakers = new Map<string, BgpSpeaker>();
    const neighbors = new Map<string, SecurityNeighbor>();
    let started = false;
    let before0: Record<string, number>;

    const diagnose = (): string =>
      `${adapter.name}: ${adapter.diagnostics()}\nours: ${JSON.stringify([...speakers.values()].map((s) => s.peers().map((p) => [p.address, p.state, p.lastError])))}`;

    before(async () => {
      const addon = sockoptAddon();
      assert.ok(
        'addon' in addon,
        `the native socket-option addon must be built (bash infra/install.sh): ${'reason' in addon ? addon.reason : ''}`,
      );
      ns = await createNetns('mls');
      transport = await ns.transport();
      const d4 = await ns.addAddress(4);
      const d6 = await ns.addAddress(6);
      const plan: SecurityPlan = { as: DAEMON_AS, routerId: d4, v4: d4, v6: d6, neighbors: [] };
      const add = async (
        name: string,
        family: 'ipv4' | 'ipv6',
        daemon: Pick<SecurityNeighbor, 'password' | 'ttl'>,
        ours: { key?: string; ttlSecurity?: number },
      ): Promise<void> => {
        const address = await ns.addAddress(family === 'ipv4' ? 4 : 6);
        const n: SecurityNeighbor = {
          name: `sec_${name}`,
          ours: address,
          ourAs: 65000,
          local: family === 'ipv4' ? d4 : d6,
          family,
          ...daemon,
        };
        plan.neighbors.push(n);
        neighbors.set(name, n);
        const s = new BgpSpeaker({
          localAs: 65000,
          routerId: family === 'ipv4' ? address : '198.18.1.6',
          listen: { address, port: 179 },
          transport,
        });
        s.addPeer({
          address: n.local,
          remoteAs: DAEMON_AS,
          localAddress: address,
          families: [family === 'ipv4' ? 'ipv4-unicast' : 'ipv6-unicast'],
          holdTime: 9,
          connectRetryTime: 1,
          idleHold: { min: 0.5, max: 2 },
          ...(ours.key ? { tcpMd5: { key: ours.key } } : {}),
          ...(ours.ttlSecurity ? { ttlSecurity: ours.ttlSecurity } : {}),
        });
        speakers.set(name, s);
      };
      await add('md5', 'ipv4', { password: 'md5-key-v4' }, { key: 'md5-key-v4' });
      await add('md5v6', 'ipv6', { password: 'md5-key-v6', ttl: 'on' }, { key: 'md5-key-v6', ttlSecurity: 1 });
      await add('gtsm', 'ipv4', { ttl: 'on' }, { ttlSecurity: 1 });
      await add('wrong', 'ipv4', { password: 'the-daemons-key' }, { key: 'our-different-key' });
      await add('low', 'ipv4', { ttl: 'low' }, { ttlSecurity: 1 });
      before0 = await tcpExt(ns);
      await adapter.start(ns, plan);
      started = true;
      for (const s of speakers.values()) await s.start();
    });

    after(async () => {
      await Promise.all([...speakers.values()].map((s) => s.close().catch(() => undefined)));
      if (started) await adapter.stop();
      await transport?.close();
      await ns?.destroy();
    });

    const our = (name: string): { s: BgpSpeaker; n: SecurityNeighbor } => ({
      s: speakers.get(name)!,
      n: neighbors.get(name)!,
    });

    test('the same password gives a session over IPv4 and IPv6 (with GTSM on IPv6)', async () => {
      try {
        for (const name of ['md5', 'md5v6']) {
          const { s, n } = our(name);
          await waitForPeerState(s, n.local, 'Established', 30_000);
          await adapter.waitEstablished(n, 30_000);
        }
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${diagnose()}`);
      }
    });

    test('GTSM on both sides gives a session', async () => {
      const { s, n } = our('gtsm');
      try {
        await waitForPeerState(s, n.local, 'Established', 30_000);
        await adapter.waitEstablished(n, 30_000);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${diagnose()}`);
      }
    });

    test('a wrong password gives no session: the kernel drops the segments', async () => {
      const { s, n } = our('wrong');
      await poll(
        'MD5 failures counted by the kernel',
        async () => ((await tcpExt(ns)).TCPMD5Failure! > before0.TCPMD5Failure! ? true : undefined),
        30_000,
        diagnose,
      );
      // Several connect rounds later (both sides retry every second), still nothing.
      await new Promise((r) => setTimeout(r, 4000));
      const st = s.peer(n.local)!;
      assert.notEqual(st.state, 'Established', diagnose());
      assert.equal(st.flaps, 0);
      assert.equal(st.messages.received.OPEN ?? 0, 0, 'not one OPEN got through');
      assert.equal(await adapter.isEstablished(n), false);
    });

    test('a peer whose packets arrive with TTL 2 is dropped by GTSM', async () => {
      const { s, n } = our('low');
      await poll(
        'low-TTL packets dropped (our SYN check or the kernel IP_MINTTL counter)',
        async () =>
          s.peer(n.local)!.lastError?.includes('arrived with TTL 2, below 255') ||
          (await tcpExt(ns)).TCPMinTTLDrop! > before0.TCPMinTTLDrop!
            ? true
            : undefined,
        30_000,
        diagnose,
      );
      await new Promise((r) => setTimeout(r, 4000));
      const st = s.peer(n.local)!;
      assert.notEqual(st.state, 'Established', diagnose());
      assert.equal(st.flaps, 0);
      assert.equal(await adapter.isEstablished(n), false);
    });
  });
}
