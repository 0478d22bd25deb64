/**
 * The testing kit shipped with core, for Switchyard's own tests and for third-party drivers: an
 * in-memory {@link FakeKernel}, memory-backed store, IPAM and firewall, helpers that assemble a
 * complete Switchyard on fakes ({@link createTestSwitchyard}), and the driver conformance suite
 * ({@link runDriverConformance}) every driver should pass.
 *
 * @module \@switchyard/core/testing
 */
export { FakeKernel, type FakeKernelOptions, type FailurePredicate } from './fake-kernel.js';
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
export * from './memory-global-store.js';
export * from './coded-errors.js';
