export * from './kernel.js';
export * from './network-driver.js';
export * from './ipam-driver.js';
export * from './state-store.js';
export * from './firewall.js';
export * from './dns.js';
export * from './global-store.js';
