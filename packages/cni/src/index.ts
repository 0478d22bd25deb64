export * from './protocol/index.js';
export * from './attachment.js';
export * from './net-conf.js';
export * from './plugin.js';
export * from './builtins.js';
export * from './executable.js';
export * from './entry.js';
export * from './host-local.js';
