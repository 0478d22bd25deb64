import { runDriverConformance } from '@switchyard/core/testing';
import bridgeDriver from '../index.js';

// The conformance suite on the real kernel, in the lab namespace (the same suite runs on FakeKernel in bridge-driver.test.ts).
runDriverConformance('bridge', () => bridgeDriver, {
  kernel: 'lab',
  invalidOptions: [{ mtu: 20 }, { bridge: 'has space' }, { hairpinMode: 'sometimes' }, { bridge: 'a-name-longer-than-15' }],
});
