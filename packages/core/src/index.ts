// @switchyard/core — the CNM model, contracts (spi), controller, registry and plugin loader,
// kernel executor, state store, events and errors. Loading it loads reflect-metadata once.
export * from './di/index.js';
export * from './errors/index.js';
export * from './model/index.js';
export * from './spi/index.js';
export * from './events/index.js';
export * from './registry/index.js';
export * from './store/index.js';
export * from './kernel/index.js';
export * from './firewall/index.js';
export * from './controller/index.js';
export * from './util/index.js';
export * from './sandbox/index.js';
