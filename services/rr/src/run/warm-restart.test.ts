// Warm restart from LMDB: the reflector runs as a child process (`meshless rr --config`), a BIRD
// client injects N routes, a BIRD client and a GoBGP client receive them (GoBGP a few thousand,
// through an export filter: it is slow). kill -9 the reflector and start it again: the receivers
// never lose a route (graceful restart helpers keep them, our OPEN says forwarding state was
// preserved), the table comes back from disk, End-of-RIB goes out once re-converged. Then the same
// with the LMDB directory removed (a cold start), for comparison. MESHLESS_RR_RESTART_ROUTES
// changes N (default 100,000).
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { open } from 'lmdb';
import { stringify } from 'yaml';
import {
  birdConfig,
  birdSkipReason,
  blocks,
  gobgpClientConfig,
  createNetns,
  netnsSkipReason,
  poll,
  startBird,
  startGobgp,
  type BirdHandle,
  type GobgpHandle,
  type Netns,
} from '../testing/lab.js';
import { execFileSync } from 'node:child_process';

function gobgpSkip(): string | undefined {
  try {
    execFileSync('gobgpd', ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'gobgpd is not installed (Debian package gobgpd; infra/install.sh installs it)';
  }
}

const skip = netnsSkipReason() ?? birdSkipReason() ?? gobgpSkip();
const N = Number(process.env.MESHLESS_RR_RESTART_ROUTES ?? 100_000);
/** Routes of the first N inside 10.100.0.0/14 (what the GoBGP client gets). */
const GOBGP_SHARE = Math.min(N, 4096);
const MESHLESS = fileURLToPath(new URL('../../../../bin/meshless.mjs', import.meta.url));
const T = 120_000;

interface Child {
  proc: ChildProcess;
  logPath: string;
  exited: Promise<unknown>;
}

function logLines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('warm restart from LMDB', { skip, timeout: 600_000 }, () => {
  let ns: Netns;
  let dir: string;
  let yamlPath: string;
  let dataDir: string;
  let inj: BirdHandle;
  let rx: BirdHandle;
  let gb: GobgpHandle;
  let child: Child | undefined;
  let a: { rr: string; inj: string; rx: string; gb: string };

  const startChild = (tag: string): Child => {
    const logPath = join(dir, `rr-${tag}.log`);
    const fd = openSync(logPath, 'a');
    const proc = ns.spawn(process.execPath, [MESHLESS, 'rr', '--insecure', '--config', yamlPath], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, MESHLESS_LOG_LEVEL: 'info' },
    });
    closeSync(fd);
    const exited = new Promise((r) => proc.once('exit', r));
    return { proc, logPath, exited };
  };

  const keepLog = (_tag: string): void => undefined;

  const killChild = async (): Promise<void> => {
    if (!child) return;
    child.proc.kill('SIGKILL');
    await child.exited;
    child = undefined;
  };

  const rxCount = async (): Promise<number> => {
    const out = await rx.birdc('show route count protocol refl');
    return Number(/(\d+) of \d+ routes/.exec(out)?.[1] ?? 0);
  };
  const gbCount = async (): Promise<number> => (await gb.rib('ipv4')).length;

  /** The RIB saved by the child, counted from its LMDB file (read-only, another process). */
  const savedRoutes = (): number => {
    const root = open({ path: join(dataDir, 'rib.mdb'), readOnly: true, compression: false });
    try {
      return root.openDB({ name: 'routes', keyEncoding: 'binary' }).getCount();
    } finally {
      void root.close();
    }
  };

  before(async () => {
    ns = await createNetns('rrwarm');
    a = { rr: await ns.addAddress(), inj: await ns.addAddress(), rx: await ns.addAddress(), gb: await ns.addAddress() };
    dir = mkdtempSync(join(tmpdir(), 'rr-warm-'));
    dataDir = join(dir, 'data');
    yamlPath = join(dir, 'rr.yaml');
    writeFileSync(
      yamlPath,
      stringify({
        asNumber: 65000,
        routerID: a.rr,
        listen: `${a.rr}:179`,
        adminListen: 'none',
        dataDir,
        gracefulRestart: { restartTime: 120, selectionDeferralTime: 60 },
        filters: {
          share: { exportV4: [{ action: 'Accept', cidr: '10.100.0.0/14', matchOperator: 'In' }, { action: 'Reject' }] },
        },
        peers: [
          { address: a.inj, asNumber: 65000, rrClient: true },
          { address: a.rx, asNumber: 65000, rrClient: true },
          { address: a.gb, asNumber: 65000, rrClient: true, filters: ['share'], families: ['ipv4-unicast'] },
        ],
      }),
    );
    const neighbors = [{ name: 'refl', address: a.rr, as: 65000 }];
    inj = await startBird({
      netns: ns,
      address: a.inj,
      config: birdConfig({ routerId: a.inj, as: 65000, statics: blocks(N), neighbors }),
    });
    rx = await startBird({ netns: ns, address: a.rx, config: birdConfig({ routerId: a.rx, as: 65000, neighbors }) });
    gb = await startGobgp({
      netns: ns,
      address: a.gb,
      config: gobgpClientConfig({ address: a.gb, rr: a.rr, gracefulRestart: true }),
    });
    child = startChild('first');
    await poll(
      `${N} routes at the BIRD client`,
      async () => ((await rxCount()) === N ? true : undefined),
      T,
      () => readFileSync(child!.logPath, 'utf8').slice(-3000),
    );
    await poll(
      `${GOBGP_SHARE} routes at the GoBGP client`,
      async () => ((await gbCount()) === GOBGP_SHARE ? true : undefined),
      T,
    );
    await poll('the RIB saved to LMDB', async () => (savedRoutes() >= N ? true : undefined), T);
  });

  after(async () => {
    await killChild();
    await inj?.stop();
    await rx?.stop();
    await gb?.stop();
    await ns?.destroy();
    if (dir && !process.env.MESHLESS_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
  });

  /** Polls the receivers' counts until `done`, returning the smallest seen. */
  const watchCounts = (): { stop(): Promise<{ rx: number; gb: number; samples: number }> } => {
    let running = true;
    let minRx = Infinity;
    let minGb = Infinity;
    let samples = 0;
    const loop = (async () => {
      while (running) {
        const [r, g] = await Promise.all([rxCount().catch(() => -1), gbCount().catch(() => -1)]);
        if (r >= 0) minRx = Math.min(minRx, r);
        if (g >= 0) minGb = Math.min(minGb, g);
        samples++;
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return { rx: minRx, gb: minGb, samples };
      },
    };
  };

  it('kill -9 and restart: peers keep every route, the table comes back from LMDB, End-of-RIB is sent', async (t: TestContext) => {
    const watch = watchCounts();
    await killChild();
    keepLog('first');
    const t0 = Date.now();
    child = startChild('warm');
    const done = await poll(
      'restart complete in the reflector log',
      async () => logLines(child!.logPath).find((l) => l.msg === 'restart complete: End-of-RIB sent'),
      T,
      () => readFileSync(child!.logPath, 'utf8').slice(-3000),
    );
    const eorMs = Date.now() - t0;
    await poll(
      'GoBGP dropped the stale marks (our End-of-RIB)',
      async () => ((await gb.rib('ipv4')).every((p) => !p.stale) ? true : undefined),
      T,
    );
    const seen = await watch.stop();
    const lines = logLines(child.logPath);
    const loaded = lines.find((l) => l.msg === 'saved RIB loaded: warm restart');
    const v4 = lines.find((l) => l.msg === 'restart complete for the family: End-of-RIB sent' && l.family === 'ipv4');
    const at = (l: Record<string, unknown> | undefined): number => (l ? (l.time as number) - t0 : NaN);
    assert.ok(loaded, 'the reflector loaded its RIB');
    assert.ok((loaded.routes as number) >= N, `restored ${String(loaded.routes)} routes`);
    assert.ok(seen.samples > 3);
    assert.equal(seen.rx, N, 'the BIRD client never lost a route');
    assert.equal(seen.gb, GOBGP_SHARE, 'the GoBGP client never lost a route');
    assert.equal(await rxCount(), N);
    assert.ok(done);
    t.diagnostic(
      `warm restart with ${N} routes: process up ${at(lines[0])} ms after the spawn, RIB loaded in ${String(loaded.ms)} ms, ` +
        `IPv4 End-of-RIB sent at ${at(v4)} ms, every family at ${eorMs} ms (BIRD sends its last End-of-RIB up to 3 s late); ` +
        `receivers' minimum ${seen.rx} / ${seen.gb} over ${seen.samples} samples`,
    );
  });

  it('for comparison, a cold start (no LMDB): the receivers drop the table and get it again', async (t: TestContext) => {
    const watch = watchCounts();
    await killChild();
    rmSync(dataDir, { recursive: true, force: true });
    const t0 = Date.now();
    child = startChild('cold');
    await poll(
      'cold start: no saved RIB',
      async () => (logLines(child!.logPath).some((l) => l.msg === 'no saved RIB: cold start') ? true : undefined),
      T,
    );
    await new Promise((r) => setTimeout(r, 1000));
    await poll(`${N} routes at the BIRD client again`, async () => ((await rxCount()) === N ? true : undefined), T);
    const backMs = Date.now() - t0;
    const seen = await watch.stop();
    t.diagnostic(
      `cold start with ${N} routes: the BIRD client held as few as ${seen.rx} (GoBGP ${seen.gb}); full table back after ${backMs} ms`,
    );
    assert.equal(await rxCount(), N);
  });
});
