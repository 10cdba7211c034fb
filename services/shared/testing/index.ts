export { startNatsServer, NATS_SERVER_BIN } from './nats-server.js';
export type { NatsServerHandle, NatsClusterMember } from './nats-server.js';
export { freePort, httpOk, waitFor } from './ports.js';
export { startOtlpReceiver } from './otlp-receiver.js';
export type { OtlpReceiver, ReceivedSpan } from './otlp-receiver.js';
export { launchChromium, chromiumMissing, CHROMIUM_BIN } from './chromium.js';
export type { Browser, BrowserPage } from './chromium.js';
export { startNatsCluster } from './nats-cluster.js';
export type { NatsClusterHandle } from './nats-cluster.js';
