import { assertIfName } from '@switchyard/core';
import { booleanValue, checkMtuOption, describeDriverOptionsFuzz, linkNameValue, mtuValue } from '../../../core/src/__tests__/driver-options-fuzz.js';
import { check } from '../../../core/src/__tests__/hostile-input.js';
import bridge from '../index.js';

describeDriverOptionsFuzz({
  driver: bridge,
  options: {
    bridge: linkNameValue('br-fuzz', 'cni0', 'br0.1', 'x'.repeat(15), 'eth0', 'lo'),
    isGateway: booleanValue,
    isDefaultGateway: booleanValue,
    mtu: mtuValue,
    hairpinMode: booleanValue,
    promiscMode: booleanValue,
    isolate: booleanValue,
    ipMasq: booleanValue,
  },
  checkOptions(o) {
    if (o.bridge !== undefined) assertIfName(o.bridge);
    checkMtuOption(o.mtu);
    for (const key of ['isGateway', 'isDefaultGateway', 'hairpinMode', 'promiscMode', 'isolate', 'ipMasq']) check(typeof o[key] === 'boolean', () => `${key} as a boolean, got ${JSON.stringify(o[key])}`);
  },
});
