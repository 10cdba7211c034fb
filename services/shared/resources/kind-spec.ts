import type { Check } from './schema.js';

/** How one kind is validated (see validate.ts for the parts common to every kind). */
export interface KindSpec {
  /** Validates and normalizes `spec` (defaults filled), including cross-field rules. */
  spec: Check<Record<string, unknown>>;
  /** Replaces the default name rule (DNS-1123 subdomain); returns the problem or undefined. */
  nameRule?: (name: string, converted: boolean) => string | undefined;
  /**
   * Rules and defaults that need the metadata as well as the validated spec; may change `spec`
   * and throws FieldError (via `fail`) with the full field path.
   */
  finish?: (
    metadata: { name: string; namespace?: string; labels?: Record<string, string> },
    spec: Record<string, unknown>,
  ) => void;
  /** Validates `status` when the kind has one. */
  status?: Check<Record<string, unknown>>;
}
