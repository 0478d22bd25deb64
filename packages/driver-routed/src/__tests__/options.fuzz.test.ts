import { MemoryCluster } from '@switchyard/core/testing';
import { assertIfName } from '@switchyard/core';
import { booleanValue, checkMtuOption, describeDriverOptionsFuzz, linkNameValue, mtuValue } from '../../../core/src/__tests__/driver-options-fuzz.js';
import { check } from '../../../core/src/__tests__/hostile-input.js';
import routed from '../index.js';

describeDriverOptionsFuzz({
  driver: routed,
  cluster: new MemoryCluster(),
  // Its own two options, and two of the bridge driver's it builds on and does not take (a network with them is refused): pods are never masqueraded.
  options: { bridge: linkNameValue('br-pods', 'cni0', 'x'.repeat(15), 'eth0', 'lo'), mtu: mtuValue, ipMasq: booleanValue, isGateway: booleanValue },
  checkOptions(o) {
    if (o.bridge !== undefined) assertIfName(o.bridge);
    checkMtuOption(o.mtu);
    check(o.ipMasq === false, () => `ipMasq always false on a routed network, got ${JSON.stringify(o.ipMasq)}`);
  },
});
