// @switchyard/core/testing — fakes and the driver conformance suite, for our tests and third parties'.
export { FakeKernel } from './fake-kernel.js';
export * from './lab.js';
export { MemoryStore } from '../store/memory-store.js';
export * from './memory-ipam.js';
export * from './test-switchyard.js';
export * from './driver-conformance.js';
export type { ConformanceKernel } from './conformance-harness.js';
export * from './step-failing-kernel.js';
export * from './settled-snapshot.js';
export * from './wait-until.js';
export * from './lab-switchyard.js';
export * from './memory-firewall.js';
export * from '../sandbox/traffic.js';
