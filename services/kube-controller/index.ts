// The Kubernetes controller (`meshless kube-controller`): keeps the datastore in step with the
// Kubernetes API as calico-kube-controllers does. See README.md.
export { runKubeController } from './src/run.js';
export type { KubeControllerConfig, KubeControllerHandle } from './src/run.js';
export { KubeController } from './src/controller.js';
export { inClusterConfig, kubeconfigFile } from './src/kube/config.js';
export type { KubeConfig } from './src/kube/config.js';
export {
  networkPolicy,
  namespaceProfile,
  serviceAccountProfile,
  podEndpointFields,
  nodeFields,
  selectorToCalico,
} from './src/convert.js';
export { startFakeApiServer } from './src/testing/fake-apiserver.js';
export type { FakeApiServer } from './src/testing/fake-apiserver.js';
