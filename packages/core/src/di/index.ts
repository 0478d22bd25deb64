export * from './decorators.js';
export * from './tokens.js';
export * from './options.js';
export * from './create-switchyard.js';
export * from './global-store-option.js';
