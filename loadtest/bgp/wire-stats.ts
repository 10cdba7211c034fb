// What crossed the benchmark's BGP sessions, read from the kernel's TCP counters in the network
// namespace (`ss -tin`): octets and data segments the injector sent and the receivers got. Read
// passively, the same way for every reflector (BIRD, FRR and GoBGP report no per-message counts
// a receiver could be asked for), so it costs the rig nothing during a phase.
//
// Octets per prefix show how a reflector packs its UPDATEs: a withdrawn /26 is 5 octets and each
// UPDATE adds a 23-octet header, so fuller messages mean fewer octets per prefix (and less work
// for a receiver). Data segments on loopback (MSS 65,483) are about one per write a sender makes
// of up to 64 KiB: a reflector that writes every UPDATE by itself shows about one segment per
// UPDATE, one that writes a step's UPDATEs together far fewer.

import type { Netns } from '../../services/testing/index.js';

export interface WireCounts {
  /** Octets the receivers got from their upstream (the reflector, or the injector for the floor). */
  receivedBytes: number;
  receivedSegments: number;
  /** Octets the injector sent (to the reflector, or to every receiver for the floor). */
  injectorBytes: number;
  injectorSegments: number;
}

export const NO_COUNTS: WireCounts = { receivedBytes: 0, receivedSegments: 0, injectorBytes: 0, injectorSegments: 0 };

/** One established TCP socket as `ss -tinH` prints it. */
interface SocketInfo {
  local: string;
  peer: string;
  bytesSent: number;
  bytesReceived: number;
  dataSegsOut: number;
  dataSegsIn: number;
}

const ENDPOINT = /^[\d.]+:\d+$/;

/** The address of `a.b.c.d:port` (IPv4 only: the rig is IPv4). */
function host(endpoint: string): string {
  return endpoint.slice(0, endpoint.lastIndexOf(':'));
}

/**
 * Parses `ss -tinH state established`: a line with queues and endpoints, then an indented line
 * of counters (a counter that is still 0 is left out by ss).
 */
export function parseSs(out: string): SocketInfo[] {
  const sockets: SocketInfo[] = [];
  let cur: SocketInfo | undefined;
  const num = (info: string, key: string): number => Number(new RegExp(`\\b${key}:(\\d+)`).exec(info)?.[1] ?? 0);
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    if (/^\s/.test(line)) {
      if (!cur) continue;
      cur.bytesSent = num(line, 'bytes_sent');
      cur.bytesReceived = num(line, 'bytes_received');
      cur.dataSegsOut = num(line, 'data_segs_out');
      cur.dataSegsIn = num(line, 'data_segs_in');
      continue;
    }
    const f = line.trim().split(/\s+/);
    // Recv-Q, Send-Q, local and peer endpoint; anything else is not a socket line.
    if (f.length < 4 || !/^\d+$/.test(f[0]!) || !ENDPOINT.test(f[2]!) || !ENDPOINT.test(f[3]!)) {
      cur = undefined;
      continue;
    }
    cur = { local: host(f[2]!), peer: host(f[3]!), bytesSent: 0, bytesReceived: 0, dataSegsOut: 0, dataSegsIn: 0 };
    sockets.push(cur);
  }
  return sockets;
}

/** Sums the counters of the receivers' sessions with `upstream` and of the injector's sessions. */
export function countWire(
  sockets: readonly SocketInfo[],
  upstream: string,
  injector: string,
  receivers: readonly string[],
): WireCounts {
  const rx = new Set(receivers);
  const c = { ...NO_COUNTS };
  for (const s of sockets) {
    if (rx.has(s.local) && s.peer === upstream) {
      c.receivedBytes += s.bytesReceived;
      c.receivedSegments += s.dataSegsIn;
    } else if (s.local === injector && (s.peer === upstream || rx.has(s.peer))) {
      c.injectorBytes += s.bytesSent;
      c.injectorSegments += s.dataSegsOut;
    }
  }
  return c;
}

/** Reads the counters now; a failed `ss` gives zeros (the figures are extra, not the measure). */
export async function readWire(
  ns: Netns,
  upstream: string,
  injector: string,
  receivers: readonly string[],
): Promise<WireCounts> {
  try {
    const { stdout } = await ns.exec('ss', ['-tinH', 'state', 'established']);
    return countWire(parseSs(stdout), upstream, injector, receivers);
  } catch {
    return { ...NO_COUNTS };
  }
}

/** b − a, counter by counter. */
export function wireDelta(a: WireCounts, b: WireCounts): WireCounts {
  return {
    receivedBytes: b.receivedBytes - a.receivedBytes,
    receivedSegments: b.receivedSegments - a.receivedSegments,
    injectorBytes: b.injectorBytes - a.injectorBytes,
    injectorSegments: b.injectorSegments - a.injectorSegments,
  };
}
