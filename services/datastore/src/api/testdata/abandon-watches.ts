// A bad client for watch-limits.test.ts: opens N Watch streams with the given credentials over
// several connections, reports how many were served and refused (with the first refusal's
// message) on stdout, and never closes them: the test kills this process.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { DatastoreServiceClient } from '../../../../../proto/gen/meshless/v1/datastore.js';
import { clientChannel } from '../../../../shared/tls/index.js';

const [address, credentials, count] = process.argv.slice(2);
const channel = clientChannel(credentials || undefined, ['datastore']);
const clients = Array.from(
  { length: 20 },
  () =>
    new DatastoreServiceClient(address!, channel.credentials, {
      ...channel.options,
      'grpc.use_local_subchannel_pool': 1,
    }),
);
const state = { answered: 0, opened: 0, live: 0, refused: 0, other: 0, refusal: '', error: '' };
for (let i = 0; i < Number(count); i++) {
  const call = clients[i % clients.length]!.watch({ revision: 0, kinds: [] }, new Metadata());
  let first = true;
  call.on('data', () => {
    if (first) {
      state.answered++;
      state.opened++;
      state.live++;
    }
    first = false;
  });
  call.on('error', (err: ServiceError) => {
    if (!first) state.live--;
    else state.answered++;
    first = false;
    if (err.code === 8) {
      state.refused++;
      state.refusal ||= err.details;
    } else {
      state.other++;
      state.error ||= `${err.code} ${err.details}`;
    }
  });
}
setInterval(() => process.stdout.write(JSON.stringify(state) + '\n'), 200);
