export * from './protocol/index.js';
export * from './attachment.js';
