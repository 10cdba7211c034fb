import { InvalidArgumentError } from '../errors/index.js';

/** Where a resource came from, for error messages: `pools.yaml document 2 (IPPool 'pool-a')`. */
export interface ResourceContext {
  /** File name (or "-" / "request") the resource was read from. */
  source?: string;
  /** 1-based document number within the source. */
  document?: number;
  /** 1-based position within a `kind: List` (or a JSON array) document. */
  item?: number;
  /**
   * Written by an orchestrator's controller converting its own objects (`meshless
   * kube-controller`): names Calico reserves for converted resources (`knp.default.*`) are then
   * allowed. The datastore sets it only for the controller role (or on an insecure server).
   */
  converted?: boolean;
}

/** gRPC request metadata by which a controller asks for `converted` writes (value: the orchestrator, "k8s"). */
export const CONVERTED_METADATA = 'meshless-converted';

export interface ResourceErrorDetails extends ResourceContext {
  /** Dotted path of the offending field, e.g. `spec.blockSize` or `spec.ingress[0].action`. */
  field?: string;
  kind?: string;
  name?: string;
  cause?: unknown;
}

/**
 * An invalid resource or resource file. `message` is complete and one line:
 * `pools.yaml document 2 (IPPool 'pool-a'): spec.blockSize: 33 is out of range for IPv4 (20-32)`;
 * `reason` is the last part alone (`33 is out of range for IPv4 (20-32)`).
 */
export class ResourceError extends InvalidArgumentError {
  readonly reason: string;
  readonly source: string | undefined;
  readonly document: number | undefined;
  readonly item: number | undefined;
  readonly kind: string | undefined;
  readonly resourceName: string | undefined;

  constructor(reason: string, details: ResourceErrorDetails = {}) {
    super(formatResourceMessage(reason, details), {
      field: details.field,
      ...(details.cause === undefined ? {} : { cause: details.cause }),
    });
    this.reason = reason;
    this.source = details.source;
    this.document = details.document;
    this.item = details.item;
    this.kind = details.kind;
    this.resourceName = details.name;
  }
}

function formatResourceMessage(reason: string, d: ResourceErrorDetails): string {
  const where: string[] = [];
  if (d.source !== undefined) where.push(d.source);
  if (d.document !== undefined) where.push(`document ${d.document}`);
  if (d.item !== undefined) where.push(`item ${d.item}`);
  let prefix = where.join(' ');
  if (d.kind !== undefined) {
    const what = d.name ? `${d.kind} '${d.name}'` : d.kind;
    prefix = prefix ? `${prefix} (${what})` : what;
  }
  const field = d.field ? `${d.field}: ` : '';
  return prefix ? `${prefix}: ${field}${reason}` : `${field}${reason}`;
}
