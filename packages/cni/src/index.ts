export * from './protocol/index.js';
export * from './attachment.js';
export * from './net-conf.js';
export * from './plugin.js';
