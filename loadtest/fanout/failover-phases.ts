// Where a failover's time goes, per orphaned agent, as the load generator sees it. Each stream of
// the killed server records five moments (absolute ms on the shared clock, proc.ts `now`):
//
//   lost       its session to the killed server closed or failed        (detect:  lost − kill)
//   reconnect  it opened its next session, after its spread delay        (spread:  reconnect − lost)
//   settings   the survivor's HTTP/2 SETTINGS arrived: TCP and both       (set-up:  settings − reconnect)
//              HTTP/2 sessions are up (a warm standby session: at once)
//   hello      the survivor's ServerHello arrived: the call is accepted   (resume:  hello − settings)
//   inSync     the survivor's InSync arrived: the resume is complete      (sync:    inSync − hello)
//
// and `done` = inSync − kill. A stream that went round more than once keeps the moments of its
// last round (lost and reconnect of the first, the rest of the last).
import { LatencyHistogram } from '../report/index.js';

export const PHASE_MOMENTS = ['lost', 'reconnect', 'settings', 'hello', 'inSync'] as const;
export type PhaseMoment = (typeof PHASE_MOMENTS)[number];
export const MOMENT_INDEX: Record<PhaseMoment, number> = { lost: 0, reconnect: 1, settings: 2, hello: 3, inSync: 4 };

type Summary = ReturnType<LatencyHistogram['summary']>;
export interface FailoverPhases {
  /** Streams whose every moment was seen. */
  streams: number;
  detectMs: Summary;
  spreadMs: Summary;
  setupMs: Summary;
  resumeMs: Summary;
  syncMs: Summary;
  doneMs: Summary;
}

/** Summaries of each phase over the orphans' moments (rows of PHASE_MOMENTS.length numbers). */
export function summarizePhases(rows: readonly (readonly number[])[], killAt: number): FailoverPhases {
  const names = ['detectMs', 'spreadMs', 'setupMs', 'resumeMs', 'syncMs', 'doneMs'] as const;
  const h = Object.fromEntries(names.map((n) => [n, new LatencyHistogram(n)])) as Record<
    (typeof names)[number],
    LatencyHistogram
  >;
  let streams = 0;
  for (const r of rows) {
    if (r.length !== PHASE_MOMENTS.length || r.some((x) => !Number.isFinite(x))) continue;
    const [lost, reconnect, settings, hello, inSync] = r as [number, number, number, number, number];
    streams++;
    h.detectMs.record(Math.max(0, lost - killAt));
    h.spreadMs.record(Math.max(0, reconnect - lost));
    h.setupMs.record(Math.max(0, settings - reconnect));
    h.resumeMs.record(Math.max(0, hello - settings));
    h.syncMs.record(Math.max(0, inSync - hello));
    h.doneMs.record(Math.max(0, inSync - killAt));
  }
  const out = { streams } as FailoverPhases;
  for (const n of names) out[n] = h[n].summary();
  return out;
}
