// The CNI 1.1.0 plugin protocol: environment, stdin config, versions, results, errors, and the runner that ties them together.
export * from './errors.js';
export * from './versions.js';
export * from './env.js';
export * from './config.js';
export * from './result.js';
export * from './run.js';
export { cidrFamily, ipFamily, SPEC_NAME_PATTERN, type JsonObject } from './validate.js';
