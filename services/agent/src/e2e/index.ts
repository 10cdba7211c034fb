// The end-to-end harness's one export for other modules: `meshless demo`. Loaded lazily, so
// importing the agent does not load the namespace and BIRD harness.
import type { DemoOptions } from './demo.js';

export type { DemoOptions };

/** Runs the demo tour (see demo.ts); resolves after the teardown. */
export async function runDemo(options: DemoOptions): Promise<void> {
  const { runDemo: run } = await import('./demo.js');
  await run(options);
}
