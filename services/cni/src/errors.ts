// CNI errors: what the plugin prints on stdout when it fails (CNI spec 1.0.0 §"Error"), with a
// non-zero exit status. Codes 1-99 are the spec's; 100+ are ours. Never a stack trace: the
// runtime shows `msg` to the user (kubelet events), `details` says more.

/** Well-known error codes (CNI spec 1.0.0, "Error"). */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  /** Ours: the datastore refused the request (pool exhausted, not found, ...). */
  Datastore: 100,
  /** Ours: wiring the interface failed (an `ip` command). */
  Dataplane: 101,
  /** Ours: a delegated plugin failed. */
  Delegate: 102,
  /** Ours: CHECK found the container's networking not as ADD left it. */
  CheckFailed: 103,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CniError';
  }

  toJson(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** A field of the network configuration is missing or wrong (code 7), naming the field. */
export function badConfig(field: string, problem: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, `network configuration: ${field}: ${problem}`);
}
