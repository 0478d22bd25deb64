import { runDriverConformance } from '@switchyard/core/testing';
import vethDriver from '../index.js';

// The conformance suite on the real kernel, in the lab namespace (the same suite runs on FakeKernel in veth-driver.test.ts).
runDriverConformance('veth', () => vethDriver, { kernel: 'lab', invalidOptions: [{ mtu: 70000 }, { defaultRoute: 'maybe' }] });
