// Standalone entry: `node --import tsx services/datastore/src/main.ts` (configured by MESHLESS_*
// variables or MESHLESS_CONFIG; `meshless datastore` is the same with command-line flags).
import { ConfigError, describeConfig, loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/log/index.js';
import { Shutdown } from '../../shared/telemetry/index.js';
import { datastoreConfig, runDatastore } from '../index.js';

const log = createLogger('datastore');
if (process.argv.includes('--help')) {
  console.log(`meshless datastore service\n\nConfiguration (environment, or a YAML file named by MESHLESS_CONFIG):\n${describeConfig(datastoreConfig)}`);
  process.exit(0);
}
let config;
try {
  config = loadConfig(datastoreConfig);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`meshless datastore: ${err.message}`);
  process.exit(1);
}
const shutdown = new Shutdown(log);
shutdown.installSignalHandlers();
try {
  const datastore = await runDatastore(config, log);
  shutdown.add('datastore', () => datastore.close());
} catch (err) {
  log.fatal({ err }, 'datastore failed to start');
  process.exit(1);
}
