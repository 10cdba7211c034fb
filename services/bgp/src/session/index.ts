export { netTransport } from './transport.js';
export type { BgpTransport, ConnectOptions, ListenOptions } from './transport.js';
