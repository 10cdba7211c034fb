// Helpers for this module's tests: build resources, change one field, assert the exact error.

import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors/index.js';
import { ResourceError, type ResourceContext } from './errors.js';
import { validateResource } from './validate.js';
import type { Resource } from './types.js';

export function resource(
  kind: string,
  name: string,
  spec: unknown,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const { metadata, ...rest } = extra;
  return {
    apiVersion: 'projectcalico.org/v3',
    kind,
    metadata: { name, ...(metadata as object | undefined) },
    ...(spec === undefined ? {} : { spec }),
    ...rest,
  };
}

/**
 * A deep copy of `obj` with the value at `path` ("spec.ingress[0].action") replaced, or removed
 * when `value` is undefined. Missing intermediate objects and arrays are created.
 */
export function withField(obj: unknown, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(obj) as Record<string, unknown>;
  const parts = path.match(/[^.[\]]+/g)!;
  let at: Record<string, unknown> = copy;
  parts.slice(0, -1).forEach((p, i) => {
    const nextIsIndex = /^\d+$/.test(parts[i + 1]!);
    if (at[p] === undefined || at[p] === null) at[p] = nextIsIndex ? [] : {};
    at = at[p] as Record<string, unknown>;
  });
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

/** Several `withField` changes at once. */
export function withFields(obj: unknown, changes: Record<string, unknown>): Record<string, unknown> {
  let out = obj as Record<string, unknown>;
  for (const [path, value] of Object.entries(changes)) out = withField(out, path, value);
  return out;
}

export function valid(obj: unknown, ctx?: ResourceContext): Resource {
  return validateResource(obj, ctx);
}

/**
 * Asserts that validation fails with a ResourceError (an InvalidArgumentError) whose `field` is
 * `field` and whose message contains `reason` (a string, or matches it as a RegExp).
 */
export function assertInvalid(
  obj: unknown,
  field: string | undefined,
  reason: string | RegExp,
  ctx?: ResourceContext,
): ResourceError {
  let caught: unknown;
  try {
    validateResource(obj, ctx);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${field ?? '(resource)'} to be rejected with ${String(reason)}`);
  assert.ok(caught instanceof ResourceError, `expected a ResourceError, got ${String(caught)}`);
  assert.ok(caught instanceof InvalidArgumentError);
  assert.equal(caught.field, field, `field of: ${caught.message}`);
  if (typeof reason === 'string')
    assert.ok(caught.message.includes(reason), `message "${caught.message}" lacks "${reason}"`);
  else assert.match(caught.message, reason);
  if (field) assert.ok(caught.message.includes(`${field}: `), `message "${caught.message}" does not name ${field}`);
  return caught;
}
