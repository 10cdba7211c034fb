export { startNatsServer, NATS_SERVER_BIN } from './nats-server.js';
export type { NatsServerHandle } from './nats-server.js';
export { freePort, httpOk, waitFor } from './ports.js';
export { createTestPki } from './pki.js';
export type { TestPki } from './pki.js';
export { startOtlpReceiver } from './otlp-receiver.js';
export type { OtlpReceiver, ReceivedSpan } from './otlp-receiver.js';
