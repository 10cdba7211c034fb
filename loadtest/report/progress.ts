// Progress of a benchmark's long phases on stderr (stdout carries only the JSON result): on a
// terminal, one bar redrawn in place (at most 10 times a second, and every second so the elapsed
// time moves while nothing else does); otherwise, for logs and CI, one line every few seconds
// (MESHLESS_PROGRESS_SECONDS, default 5) and one when the phase ends. Log lines written through
// the same Console clear the bar first and redraw it after, so the two never interleave.

export interface ProgressStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Phase {
  /** `done` of `total` (or of nothing, when the phase's size is not known); `detail` is free text. */
  update(done: number, detail?: string): void;
  /** Ends the phase: the bar is replaced by one final line (none when `message` is null: the caller logs its own). */
  end(message?: string | null): void;
}

export interface PhaseOptions {
  total?: number;
  unit?: string;
}

const BAR_WIDTH = 28;
const TTY_MIN_REDRAW_MS = 100;

function defaultIntervalMs(): number {
  const s = Number(process.env.MESHLESS_PROGRESS_SECONDS);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 5000;
}

export class Console {
  private active: PhaseImpl | undefined;

  constructor(
    readonly prefix: string,
    private readonly stream: ProgressStream = process.stderr,
    private readonly intervalMs = defaultIntervalMs(),
  ) {}

  get tty(): boolean {
    return this.stream.isTTY === true;
  }

  /** One line of log, above the bar when one is drawn. */
  log(message: string): void {
    this.active?.clear();
    this.stream.write(`[${this.prefix}] ${message}\n`);
    this.active?.draw(true);
  }

  /** Starts a phase; a phase still running is ended first. */
  phase(label: string, options: PhaseOptions = {}): Phase {
    this.active?.end();
    const p = new PhaseImpl(this, this.stream, label, options, this.intervalMs, () => {
      if (this.active === p) this.active = undefined;
    });
    this.active = p;
    return p;
  }
}

class PhaseImpl implements Phase {
  private done = 0;
  private detail = '';
  private readonly t0 = performance.now();
  private lastDraw = 0;
  private drawn = false;
  private ended = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly console: Console,
    private readonly stream: ProgressStream,
    private readonly label: string,
    private readonly options: PhaseOptions,
    intervalMs: number,
    private readonly onEnd: () => void,
  ) {
    this.timer = setInterval(() => (console.tty ? this.draw(true) : this.line()), console.tty ? 1000 : intervalMs);
    this.timer.unref();
    if (console.tty) this.draw(true);
  }

  update(done: number, detail?: string): void {
    if (this.ended) return;
    this.done = done;
    if (detail !== undefined) this.detail = detail;
    if (this.console.tty) this.draw(false);
  }

  end(message?: string | null): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    this.clear();
    const counts = this.counts();
    if (message !== null)
      this.stream.write(
        `[${this.console.prefix}] ${this.label}: ${message ?? `done${counts ? `, ${counts}` : ''} in ${this.elapsed()}`}\n`,
      );
    this.onEnd();
  }

  /** Erases the bar (TTY only). */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }

  draw(force: boolean): void {
    if (this.ended || !this.console.tty) return;
    const t = performance.now();
    if (!force && t - this.lastDraw < TTY_MIN_REDRAW_MS) return;
    this.lastDraw = t;
    const { total } = this.options;
    let bar = '';
    if (total !== undefined && total > 0) {
      const f = Math.min(1, Math.max(0, this.done / total));
      const full = Math.round(f * BAR_WIDTH);
      bar = `[${'#'.repeat(full)}${'-'.repeat(BAR_WIDTH - full)}] ${(f * 100).toFixed(0).padStart(3)}% `;
    }
    const counts = this.counts();
    let text = `[${this.console.prefix}] ${this.label} ${bar}${counts ? `${counts} ` : ''}${this.elapsed()}${this.detail ? ` ${this.detail}` : ''}`;
    const width = this.stream.columns ?? 120;
    if (text.length > width - 1) text = text.slice(0, width - 1);
    this.stream.write(`\r\x1b[2K${text}`);
    this.drawn = true;
  }

  private line(): void {
    if (this.ended) return;
    const { total } = this.options;
    const pct = total ? ` (${((100 * this.done) / total).toFixed(0)}%)` : '';
    const counts = this.counts();
    this.stream.write(
      `[${this.console.prefix}] ${this.label}: ${counts ? `${counts}${pct}, ` : ''}${this.elapsed()}${this.detail ? `, ${this.detail}` : ''}\n`,
    );
  }

  private counts(): string {
    // A phase with neither a size nor a unit (waiting for a cluster to be ready) shows only its time.
    if (this.options.total === undefined && this.options.unit === undefined) return '';
    const unit = this.options.unit ? ` ${this.options.unit}` : '';
    return this.options.total !== undefined
      ? `${fmt(this.done)}/${fmt(this.options.total)}${unit}`
      : `${fmt(this.done)}${unit}`;
  }

  private elapsed(): string {
    return `${((performance.now() - this.t0) / 1000).toFixed(1)} s`;
  }
}

function fmt(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(2);
}
