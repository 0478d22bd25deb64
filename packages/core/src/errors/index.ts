export * from './codes.js';
export * from './switchyard-error.js';
export * from './quote-value.js';
export * from './global-store-errors.js';
