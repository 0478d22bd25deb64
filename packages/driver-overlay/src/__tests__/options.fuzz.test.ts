import fc from 'fast-check';
import { MemoryCluster } from '@switchyard/core/testing';
import { booleanValue, checkMtuOption, describeDriverOptionsFuzz, mtuValue } from '../../../core/src/__tests__/driver-options-fuzz.js';
import { check, numberValue, type Json } from '../../../core/src/__tests__/hostile-input.js';
import overlay from '../index.js';

const integerOf = (...edges: Json[]): fc.Arbitrary<Json> =>
  fc.oneof(
    fc.constantFrom<Json>(...edges),
    numberValue.map((n) => (Number.isFinite(n) ? n : String(n))),
  );

describeDriverOptionsFuzz({
  driver: overlay,
  cluster: new MemoryCluster(),
  options: {
    vni: integerOf(1, 4096, 16777215, 16777216, 0, -1, '4097', '0x10', 1.5),
    port: integerOf(4789, 8472, 1, 65535, 65536, 0, '4789', ' 4789'),
    mtu: mtuValue,
    ipMasq: booleanValue,
  },
  checkOptions(o) {
    checkMtuOption(o.mtu);
    for (const [key, max] of [
      ['vni', 16777215],
      ['port', 65535],
    ] as const) {
      if (o[key] !== undefined) check(typeof o[key] === 'number' && Number.isInteger(o[key]) && o[key] >= 1 && o[key] <= max, () => `${key} of 1-${max}, got ${JSON.stringify(o[key])}`);
    }
    if (o.ipMasq !== undefined) check(typeof o.ipMasq === 'boolean', () => `ipMasq as a boolean, got ${JSON.stringify(o.ipMasq)}`);
  },
});
