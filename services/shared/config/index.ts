export { loadConfig, envName, parseDuration, describeConfig, checks, isHostPort, ConfigError } from './config.js';
export type { ParamSpec, ParamType, ConfigSpec, ConfigOf, LoadOptions } from './config.js';
export { checkStateDir, storageErrorMeaning, StateDirError } from './state-dir.js';
