// Where a service's log lines are written, without ever holding the event loop.
//
// Why not pino.destination({ sync: true }) (what we had): it writes with fs.writeSync. When the
// process reading our stdout stops reading (a supervisor wedged, a test process that was
// interrupted but not killed, a terminal paused) the pipe fills and the write blocks in the kernel,
// or, on a descriptor libuv made non-blocking, sonic-boom retries EAGAIN in a sleep loop. Either
// way the event loop never turns again: SIGTERM's handler never runs and the shutdown deadline's
// timer never fires. A `meshless sync` stayed up for 48 minutes like that, killed by pid at last.
//
// Instead, a pipe or socket goes through a Node stream (process.stdout or a net.Socket on the
// descriptor): libuv tries the write at once, so with a reader the line is out before the call
// returns (and before an exit), as with writeSync; without one the line waits in memory and the
// loop goes on. What waits is bounded: past MAX_PENDING_BYTES a line is dropped and counted, and
// one line saying how many were dropped follows when the reader catches up. A log line is never
// worth a process that cannot be stopped.
//
// Rejected: pino's async sonic-boom (sync: false) flushes with writeSync in an exit handler, which
// blocks process.exit itself on a full pipe; a logging thread (pino transports) costs a worker
// thread's start-up in every process. Regular files and TTYs keep synchronous writes: they do not
// fill up because nobody reads them.
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { pino, type DestinationStream } from 'pino';

/** Bytes a stalled reader may leave waiting before lines are dropped. */
export const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/** A stream on descriptor `fd` when it is a pipe or a socket, else undefined (write synchronously). */
function pipeStream(fd: number): Writable | undefined {
  let stat: ReturnType<typeof fstatSync>;
  try {
    stat = fstatSync(fd);
  } catch {
    return undefined;
  }
  if (!stat.isFIFO() && !stat.isSocket()) return undefined;
  if (fd === 1) return process.stdout;
  if (fd === 2) return process.stderr;
  const socket = new Socket({ fd, readable: false, writable: true });
  // As process.stdout: an open log descriptor must not keep a finished process alive.
  socket.unref();
  return socket;
}

const streams = new Map<number, DestinationStream>();

/**
 * pino's destination for descriptor `fd`: never blocks the event loop on a pipe nobody reads. One
 * per descriptor, shared by every logger of the process (one drop count, one set of listeners).
 */
export function logStream(fd: number): DestinationStream {
  let destination = streams.get(fd);
  if (!destination) {
    destination = createLogStream(fd);
    streams.set(fd, destination);
  }
  return destination;
}

function createLogStream(fd: number): DestinationStream {
  const stream = pipeStream(fd);
  if (!stream) return pino.destination({ dest: fd, sync: true });
  let dropped = 0;
  // A write error (EPIPE: the reader is gone) is not ours to crash on; the lines are lost.
  stream.on('error', () => undefined);
  stream.on('drain', () => {
    if (dropped === 0) return;
    const line = { level: 'warn', time: new Date().toISOString(), pid: process.pid, dropped };
    dropped = 0;
    stream.write(`${JSON.stringify({ ...line, msg: 'log lines dropped: the log destination was not read' })}\n`);
  });
  return {
    write(line: string): void {
      if (stream.destroyed) return;
      if (stream.writableLength > MAX_PENDING_BYTES) {
        dropped += 1;
        return;
      }
      stream.write(line);
    },
  };
}
