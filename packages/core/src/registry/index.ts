export * from './plugin.js';
export * from './logger.js';
