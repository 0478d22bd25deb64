export * from './codes.js';
export * from './switchyard-error.js';
