import fc from 'fast-check';
import { assertIfName } from '@switchyard/core';
import { checkMtuOption, describeDriverOptionsFuzz, linkNameValue, mtuValue } from '../../../core/src/__tests__/driver-options-fuzz.js';
import { check, textFor } from '../../../core/src/__tests__/hostile-input.js';
import ipvlan from '../index.js';

describeDriverOptionsFuzz({
  driver: ipvlan,
  options: {
    master: linkNameValue('eth0', 'eth1', 'eth2', 'eth0.10', 'eth0.0', 'eth9', 'lo'),
    mode: textFor(fc.constantFrom('l2', 'l3', 'l3s'), 4),
    flag: textFor(fc.constantFrom('bridge', 'private', 'vepa'), 4),
    mtu: mtuValue,
  },
  checkOptions(o) {
    if (o.master !== undefined) assertIfName(o.master);
    check(['l2', 'l3', 'l3s'].includes(o.mode as string) && ['bridge', 'private', 'vepa'].includes(o.flag as string), () => `an ipvlan mode and flag, got ${JSON.stringify(o)}`);
    checkMtuOption(o.mtu);
  },
});
