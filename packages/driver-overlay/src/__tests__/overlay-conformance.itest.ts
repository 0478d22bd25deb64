import { MemoryCluster, runDriverConformance } from '@switchyard/core/testing';
import overlayDriver from '../index.js';

// The conformance suite on the real kernel, in the lab namespace (the same suite runs on FakeKernel in
// overlay-driver.test.ts); each test's instance is a host that has joined a fresh in-memory cluster.
runDriverConformance('overlay', () => overlayDriver, {
  kernel: 'lab',
  globalStore: () => {
    const cluster = new MemoryCluster();
    cluster.join('lab', '10.202.0.1');
    return cluster.storeFor('lab');
  },
  invalidOptions: [{ vni: 0 }, { port: 0 }, { mtu: 20 }],
});
