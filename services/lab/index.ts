// The end-to-end lab: Meshless and Calico-classic clusters in network namespaces (nodes, pods
// wired by the CNI plugin, a BIRD top-of-rack switch, the real `meshless` processes), the
// end-to-end test (src/e2e.test.ts) and `meshless demo`. Above every service: it runs them all,
// and the CLI loads it only for `meshless demo`. See README.md.
export { runDemo } from './src/demo.js';
export type { DemoOptions } from './src/demo.js';
