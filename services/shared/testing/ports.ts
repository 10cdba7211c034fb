import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';

/**
 * The ports the kernel hands out for outgoing connections (and for a listen on port 0):
 * net.ipv4.ip_local_port_range, 32768-60999 by default.
 */
export function ephemeralPorts(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return { low: low!, high: high! };
  } catch {
    // not Linux: the common default
  }
  return { low: 32768, high: 60999 };
}

/** Where freePort draws from: above the well-known and registered ports services default to. */
const FIRST_PORT = 10_000;

function bindable(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, host, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : undefined));
    });
  });
}

/**
 * A TCP port that was free a moment ago on `host`, drawn at random below the ephemeral range. The
 * caller (often a child process) binds it later; a port from the ephemeral range (what a listen on
 * port 0 gives) can be taken in between by any outgoing connection on the machine, and a loaded
 * machine makes thousands. Below it only another freePort drawing the same port can, and the
 * remaining window is covered by callers retrying on EADDRINUSE (see startNatsServer, npm start).
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const top = ephemeralPorts().low - 1;
  for (let i = 0; top - FIRST_PORT >= 1000 && i < 100; i++) {
    const port = await bindable(FIRST_PORT + Math.floor(Math.random() * (top - FIRST_PORT + 1)), host);
    if (port !== undefined) return port;
  }
  // A range set so low that nothing is left below it: the kernel's choice, as before.
  const port = await bindable(0, host);
  if (port === undefined) throw new Error(`freePort: no port to listen on at ${host}`);
  return port;
}

/** Polls `probe` until it returns true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Whether `url` answers 200 within `timeoutMs` (health probes: /readyz, /livez). */
export function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(timeoutMs, () => req.destroy());
  });
}
