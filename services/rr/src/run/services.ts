// What both modes start around the reflector: persistence (warm restart), the admin API and
// metrics. Standalone and datastore mode differ only in where peers and routes come from.
//
// Start sequence (both modes):
//   attachServices   open LMDB, load the saved RIB; the reflector is "restarting" when it holds
//                    routes (RFC 4724 R bit, forwarding state preserved)
//   setPeers         the configured peers
//   restore()        saved routes of configured peers (and originated ones) back in, stale
//   originate...     current originated routes (confirming the saved ones)
//   confirmOriginated / persist() / start()

import type { Logger } from 'pino';
import type { Telemetry } from '../../../shared/telemetry/index.js';
import { Reflector } from '../reflector/reflector.js';
import type { ReflectorSettings } from '../config/types.js';
import type { ServiceSettings } from '../config/standalone.js';
import type { BgpTransport } from '../../../bgp/index.js';
import { LOCAL_PEER_KEY, RibStore, type RestoredRib, type RestoredRoute } from '../persist/rib-store.js';
import type { AttrSet } from '../rib/attr-set.js';
import { startAdminServer, type AdminServer } from '../api/admin-server.js';
import { createRrMetrics } from '../api/metrics.js';
import type { ServerSecurity } from '../../../shared/tls/index.js';

export interface AttachOptions {
  readonly settings: ReflectorSettings;
  readonly service: ServiceSettings;
  readonly logger: Logger;
  readonly telemetry?: Telemetry;
  readonly transport?: BgpTransport;
  /** TLS of the admin API (shared/tls serverSecurity); absent: plain text. */
  readonly adminSecurity?: ServerSecurity;
}

export interface AttachedServices {
  readonly reflector: Reflector;
  readonly adminAddress: string | undefined;
  readonly store: RibStore | undefined;
  /** Routes loaded from disk (0 on a cold start). */
  readonly restoredRoutes: number;
  /** Puts the saved routes of configured peers back (call after setPeers); returns how many. */
  restore(): number;
  /** Starts saving the RIB (after restore and origination). */
  persist(): void;
  close(): Promise<void>;
}

export async function attachServices(o: AttachOptions): Promise<AttachedServices> {
  const log = o.logger;
  let store: RibStore | undefined;
  let saved: RestoredRib | undefined;
  if (o.service.dataDir) {
    store = RibStore.open(o.service.dataDir, log.child({ subsystem: 'rib-store' }));
    const t0 = performance.now();
    saved = store.load({
      asNumber: o.settings.asNumber,
      routerId: o.settings.routerId,
      clusterId: o.settings.clusterId,
    });
    log.info(
      { routes: saved.routes.length, ms: Math.round(performance.now() - t0), dir: o.service.dataDir },
      saved.routes.length ? 'saved RIB loaded: warm restart' : 'no saved RIB: cold start',
    );
  }
  const restarting = (saved?.routes.length ?? 0) > 0;
  const reflector = new Reflector({
    settings: o.settings,
    logger: log,
    restarting,
    ...(o.telemetry ? { meter: o.telemetry.meter } : {}),
    ...(o.transport ? { transport: o.transport } : {}),
  });
  const peerKey = (idx: number): string | undefined => {
    const a = reflector.peerAddressOf(idx);
    return a === '' ? LOCAL_PEER_KEY : a;
  };
  reflector.events.established = (address, bgpId) => store?.setPeerId(address, bgpId);
  if (o.telemetry) createRrMetrics(o.telemetry.meter, reflector, () => store?.backlog ?? 0);
  let admin: AdminServer | undefined;
  const denials = o.telemetry?.meter.createCounter('meshless_rr_admin_permission_denied_total', {
    description: 'admin calls refused by authorization, by method and role',
  });
  if (o.service.adminListen) {
    admin = await startAdminServer(o.service.adminListen, () => reflector, log.child({ subsystem: 'admin' }), {
      persistBacklog: () => store?.backlog ?? 0,
      ...(o.adminSecurity ? { security: o.adminSecurity } : {}),
      denied: (method, role) => denials?.add(1, { method, role }),
    });
  }
  return {
    reflector,
    adminAddress: admin?.address,
    store,
    restoredRoutes: saved?.routes.length ?? 0,
    restore() {
      if (!saved || !store) return 0;
      for (const [addr, id] of saved.peerIds) {
        const idx = peerIdx(reflector, addr);
        if (idx !== undefined) reflector.rib.setPeerRouterId(idx, id);
      }
      // One intern per saved attribute set, not per route.
      const sets = new Map<number, AttrSet>();
      for (const [id, a] of saved.attrs) {
        const set = reflector.rib.internStored(a.b, a.n, a.l);
        store.adopt(set, id);
        sets.set(id, set);
      }
      let n = 0;
      const gone: RestoredRoute[] = [];
      for (const r of saved.routes) {
        if (reflector.restoreRoute(r.peer === LOCAL_PEER_KEY ? '' : r.peer, r.prefix, sets.get(r.attrId)!)) n++;
        else gone.push(r);
      }
      for (const set of sets.values()) reflector.rib.releaseAttrs(set);
      store.forget(gone);
      saved = undefined;
      return n;
    },
    persist() {
      if (!store) return;
      store.attach(reflector.rib, peerKey);
      if (!restarting) store.saveAll(reflector.rib);
    },
    async close() {
      await admin?.close();
      await reflector.close('route reflector shutting down');
      await store?.close();
    },
  };
}

function peerIdx(rr: Reflector, address: string): number | undefined {
  try {
    return rr.ribPeer(address).idx;
  } catch {
    return undefined;
  }
}
