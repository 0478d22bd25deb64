import fc from 'fast-check';
import { assertIfName, parseIpAddress } from '@switchyard/core';
import { booleanValue, checkMtuOption, describeDriverOptionsFuzz, linkNameValue, mtuValue } from '../../../core/src/__tests__/driver-options-fuzz.js';
import { check, ipv4Text, ipv6Text, textFor } from '../../../core/src/__tests__/hostile-input.js';
import macvlan from '../index.js';

describeDriverOptionsFuzz({
  driver: macvlan,
  options: {
    master: linkNameValue('eth0', 'eth1', 'eth2', 'eth0.10', 'eth0.0', 'eth0.4095', 'eth9', 'lo'),
    mode: textFor(fc.constantFrom('bridge', 'private', 'vepa', 'passthru'), 4),
    mtu: mtuValue,
    hostShim: booleanValue,
    shimAddress: textFor(fc.oneof(fc.constantFrom('10.80.0.250', '10.80.0.1', '10.80.0.0', '10.81.0.1'), ipv4Text), 4),
    shimAddress6: textFor(fc.oneof(fc.constantFrom('fd00:80::fe', 'fd00:81::1'), ipv6Text), 4),
  },
  checkOptions(o) {
    if (o.master !== undefined) assertIfName(o.master);
    check(['bridge', 'private', 'vepa', 'passthru'].includes(o.mode as string), () => `a macvlan mode, got ${JSON.stringify(o.mode)}`);
    checkMtuOption(o.mtu);
    check(typeof o.hostShim === 'boolean', 'hostShim as a boolean');
    if (o.shimAddress !== undefined) check(parseIpAddress(o.shimAddress).family === 4, 'an IPv4 shim address');
    if (o.shimAddress6 !== undefined) check(parseIpAddress(o.shimAddress6).family === 6, 'an IPv6 shim address');
  },
});
