// V8 flags the reflector process starts with: `node --max-semi-space-size=2 bin/meshless.mjs rr`.
// Flags that size the heap cannot be changed once the process runs, so launchers pass them.
//
// Why: the tables (routes, destinations, Adj-RIB-Out, dirty queue) live in typed arrays; what
// the hot path allocates on the JS heap (decoded UPDATEs, one step's wire-form prefix lists,
// packed UPDATEs) dies within an export step. V8's default young generation grows to two 16 MB
// semi-spaces (module loading at start-up already grows it) and every page of them is touched
// once ~32 MB have been allocated: ~25 MB of RSS holding only garbage. Measured with 100k
// routes reflected to 10 BIRD clients (in process): peak RSS 136 MB with the default, 105-112 MB
// with 2 MB semi-spaces, the same CPU seconds (little survives a scavenge, so more of them cost
// little). 1 MB gave no lower peak; 4-8 MB a higher one.
export const RR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
