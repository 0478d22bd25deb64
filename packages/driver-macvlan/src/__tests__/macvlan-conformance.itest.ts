import { runDriverConformance } from '@switchyard/core/testing';
import macvlanDriver from '../index.js';

// The conformance suite on the real kernel, in the lab namespace: the suite makes the master (a veth
// named mvcf0, MTU 1500) before each test and removes it after.
runDriverConformance('macvlan', () => macvlanDriver, {
  kernel: 'lab',
  networkOptions: { master: 'mvcf0' },
  master: { option: 'master', mtu: 1500 },
  invalidOptions: [{ master: 'mvcf0', mode: 'loud' }, { master: 'mvcf0', mtu: 20 }, { master: 'has space' }],
});
