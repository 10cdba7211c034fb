#!/usr/bin/env node
// Entry point of the `meshless` command: registers tsx so the TypeScript sources run as they are,
// then hands over to the CLI. Resolution is relative to this file, so it works from any directory.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli/src/main.ts');
await main(process.argv);
