/**
 * The container networking model (Docker CNM: networks, endpoints, sandboxes), the contracts
 * drivers, IPAM drivers and firewalls implement (the SPI), the controller that drives them, the
 * plugin registry and loader, the kernel executor, the state store, events and errors.
 *
 * Embedders start at {@link createSwitchyard}; driver authors at {@link NetworkDriver} and
 * {@link defineDriver}. Loading this module loads `reflect-metadata` once.
 *
 * @module \@switchyard/core
 * @mergeModuleWith <project>
 */
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
