export * from './plugin.js';
export * from './logger.js';
export * from './plugin-names.js';
export * from './plugin-checks.js';
export * from './manifest-checks.js';
export * from './plugin-loader.js';
export * from './plugin-registry.js';
