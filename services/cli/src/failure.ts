// How the CLI fails: exactly one line on stderr, `meshless: <what went wrong>`, and exit status 1.
// Commands throw CliError for their own messages; anything else (service errors from the
// datastore client, resource validation errors, unexpected bugs) is flattened to one line here.
// Stack traces are never printed; MESHLESS_DEBUG=1 adds the stack of an unexpected error.

/** An error whose message is already what the user should read. */
export class CliError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** The message of any error, on one line (newlines and runs of spaces collapsed). */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text
    .trim()
    .replace(/\s*\n\s*/g, '; ')
    .replace(/\s{2,}/g, ' ');
}

/** `Kind(name)` or `Kind(namespace/name)`, calicoctl's resource identifier in messages. */
export function identifier(kind: string, namespace: string, name: string): string {
  return namespace ? `${kind}(${namespace}/${name})` : `${kind}(${name})`;
}
