// The `meshless` command as other code uses it: bin/meshless.mjs runs `main` (through the build's
// entry, src/main.ts); tests and tools build the command tree in-process with their own streams.
export { main, run, buildProgram } from './src/main.js';
export { COMMANDS } from './src/commands/index.js';
export { CliContext } from './src/context.js';
export type { CliIo } from './src/context.js';
