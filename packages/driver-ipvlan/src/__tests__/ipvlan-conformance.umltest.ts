import { runDriverConformance } from '@switchyard/core/testing';
import ipvlanDriver from '../index.js';

// The conformance suite on a real kernel that has ipvlan: user-mode Linux (this build machine's kernel
// lacks it; ipvlan-host-kernel.itest.ts covers what happens there). The suite makes the master (a veth
// named ivcf0, MTU 1500) before each test and removes it after.
runDriverConformance('ipvlan', () => ipvlanDriver, {
  kernel: 'lab',
  networkOptions: { master: 'ivcf0' },
  master: { option: 'master', mtu: 1500 },
  staticMac: false,
  invalidOptions: [
    { master: 'ivcf0', mode: 'l4' },
    { master: 'ivcf0', flag: 'open' },
  ],
});
