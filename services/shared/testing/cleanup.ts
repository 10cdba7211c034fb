// A teardown never stops at the first failure: a failed test often leaves the state that makes one
// step throw (a dataplane mid-write, a pinger already gone, a server half closed), and the steps
// after it (the services, the switch, the namespaces, the nats-server) are exactly what must not be
// left running: a test file whose handles stay open never exits and hangs to the runner's timeout.
// The lab's processes also die with the test process (services/testing's Netns.spawn), for the
// case where no teardown runs at all (the runner killed or timed out).

/** Runs every step in order, each even when one before it failed; then throws what failed. */
export async function runEvery(what: string, steps: ReadonlyArray<() => unknown>): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 0) return;
  const messages = errors.map((e) => (e instanceof Error ? e.message : String(e)));
  throw new AggregateError(errors, `${what}: ${errors.length} step(s) failed (every step ran): ${messages.join('; ')}`);
}
