// Test fixtures of the CNI plugin, for tests, the end-to-end lab and the CNI benchmark: a container
// runtime's side of CNI (runtime.ts) and a node namespace with a datastore (lab.ts). Services use ./index.ts.
export { REPO_BIN, DEBIAN_CNI_DIR, execPlugin, addList, delList, checkList } from './src/testing/runtime.js';
export type { Attachment, Runtime, PluginRun, ConfList } from './src/testing/runtime.js';
export { netnsPath, createCniLab } from './src/testing/lab.js';
export type { CniLab } from './src/testing/lab.js';
