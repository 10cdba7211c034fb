export { loadConfig, envName, parseDuration, describeConfig, checks, ConfigError } from './config.js';
export type { ParamSpec, ParamType, ConfigSpec, ConfigOf, LoadOptions } from './config.js';
