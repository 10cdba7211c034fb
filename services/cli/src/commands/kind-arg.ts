import { KINDS, resolveKind, type Kind } from '../../../shared/resources/index.js';
import { CliError } from '../failure.js';

/** The kind a KIND argument names (any case, singular, plural or calicoctl short form). */
export function kindArgument(text: string): Kind {
  const kind = resolveKind(text);
  if (kind) return kind;
  const known = KINDS.map((k) => k.kind.toLowerCase()).join(', ');
  throw new CliError(`resource type '${text}' is not supported (kinds: ${known})`);
}
