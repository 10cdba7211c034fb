// Worker processes of one sync server (see pool.ts for why processes, front.ts for the main
// process's side, child.ts for a worker's).
export { WorkerFront } from './front.js';
export type { FrontEvents, WorkerStats } from './front.js';
export { RemoteStream } from './remote-stream.js';
export type { ServedStream } from './remote-stream.js';
