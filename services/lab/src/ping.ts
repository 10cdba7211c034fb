// Reachability between pods, measured with the real `ping`:
// - pingOnce: one echo, its reply TTL (which tells how many routers the packets crossed);
// - ContinuousPing: one `ping -D -i INTERVAL` per pair, running for the whole scenario. Every
//   reply is recorded with its kernel timestamp and sequence number, so the test can ask when a
//   pair first got through after an instant (convergence) and which echoes went unanswered in a
//   window (an outage during a fault).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Netns } from '../../testing/index.js';

export interface PingResult {
  readonly ok: boolean;
  readonly ttl: number | undefined;
  readonly output: string;
}

export async function pingOnce(from: Netns, to: string, timeoutS = 1): Promise<PingResult> {
  try {
    const { stdout } = await from.exec('ping', ['-n', '-c', '1', '-W', String(timeoutS), to], {
      timeoutMs: (timeoutS + 5) * 1000,
    });
    const ttl = /ttl=(\d+)/.exec(stdout);
    return { ok: true, ttl: ttl ? Number(ttl[1]) : undefined, output: stdout };
  } catch (err) {
    return { ok: false, ttl: undefined, output: (err as Error).message };
  }
}

interface Reply {
  readonly seq: number;
  readonly ttl: number;
  /** Wall-clock ms (ping -D). */
  readonly at: number;
}

export class ContinuousPing {
  readonly label: string;
  private readonly child: ChildProcess;
  private readonly replies: Reply[] = [];
  private readonly exited: Promise<void>;
  private stderr = '';

  constructor(
    from: Netns,
    readonly to: string,
    label: string,
    readonly intervalMs = 20,
  ) {
    this.label = label;
    this.child = from.spawn('ping', ['-n', '-D', '-i', String(intervalMs / 1000), '-W', '1', to], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const m = /^\[(\d+\.\d+)\] \d+ bytes from [^:]+: icmp_seq=(\d+) ttl=(\d+)/.exec(line);
      if (m) this.replies.push({ at: Number(m[1]) * 1000, seq: Number(m[2]), ttl: Number(m[3]) });
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-1000)));
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
  }

  /** Time of the first reply at or after `since` (wall-clock ms), if any. */
  firstReplyAfter(since: number): number | undefined {
    return this.replies.find((r) => r.at >= since)?.at;
  }

  /** The TTL of the latest reply. */
  lastTtl(): number | undefined {
    return this.replies.at(-1)?.ttl;
  }

  lastReplyAt(): number | undefined {
    return this.replies.at(-1)?.at;
  }

  /**
   * Echoes sent between `from` and `to` (wall-clock ms) that got no reply: gaps in the sequence
   * numbers of the replies, each missing echo dated by its send time (estimated from the reply
   * before the gap plus one interval per sequence number), so an outage just before the window
   * is not counted in it; plus, if the last reply is older than `to` by more than a second, the
   * echoes of an outage still going on at the end.
   */
  lostBetween(from: number, to: number): number {
    let lost = 0;
    for (let i = 1; i < this.replies.length; i++) {
      const prev = this.replies[i - 1]!;
      const r = this.replies[i]!;
      if (prev.at > to) break;
      for (let seq = prev.seq + 1; seq < r.seq; seq++) {
        const sentAt = prev.at + (seq - prev.seq) * this.intervalMs;
        if (sentAt >= from && sentAt <= to) lost++;
      }
    }
    const last = this.replies.filter((r) => r.at <= to).at(-1)?.at ?? from;
    if (to - last > 1000) lost += Math.floor((to - Math.max(last, from)) / this.intervalMs);
    return lost;
  }

  describe(): string {
    return `${this.label} → ${this.to}: ${this.replies.length} replies${this.stderr ? `, stderr: ${this.stderr.trim()}` : ''}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}
