import { booleanValue, checkMtuOption, describeDriverOptionsFuzz, mtuValue } from '../../../core/src/__tests__/driver-options-fuzz.js';
import { check } from '../../../core/src/__tests__/hostile-input.js';
import veth from '../index.js';

describeDriverOptionsFuzz({
  driver: veth,
  options: { mtu: mtuValue, defaultRoute: booleanValue, ipMasq: booleanValue },
  checkOptions(o) {
    checkMtuOption(o.mtu);
    check(typeof o.defaultRoute === 'boolean' && typeof o.ipMasq === 'boolean', () => `defaultRoute and ipMasq booleans, got ${JSON.stringify(o)}`);
  },
});
