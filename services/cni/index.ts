// The CNI plugin: `meshless-cni` (main plugin: veth wiring, WorkloadEndpoint) and `meshless-ipam`
// (Calico-style IPAM over the datastore API), CNI spec 1.0.0 (also 0.3.x, 0.4.0; STATUS and GC of
// 1.1), and `meshless cni install`. See README.md.
export { main } from './src/main.js';
export type { Executable, CniIo } from './src/main.js';
export { installCni } from './src/install.js';
export type { InstallOptions, InstallResult } from './src/install.js';
export { SUPPORTED_VERSIONS } from './src/config.js';
export { hostVethName, workloadEndpointName, handleIdFor } from './src/names.js';
