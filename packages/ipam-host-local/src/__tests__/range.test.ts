import { parseRange, parseRangeSet, describeRange } from '../range.js';
import { caught, expectCoded } from './helpers.js';

describe('range parsing', () => {
  it('defaults a v4 subnet to gateway network+1 and hands out network+1 .. broadcast-1', () => {
    const r = parseRange({ subnet: '10.1.0.0/24' });
    expect(describeRange(r)).toBe('10.1.0.0/24 (10.1.0.1-10.1.0.254)');
    expect(r.gateway).toBe(r.start);
  });

  it('defaults a v6 subnet to hand out up to the last address', () => {
    expect(describeRange(parseRange({ subnet: 'fd00:1::/120' }))).toBe('fd00:1::/120 (fd00:1::1-fd00:1::ff)');
  });

  it('clears host bits of the subnet and prints addresses in canonical form', () => {
    expect(describeRange(parseRange({ subnet: 'FD00:0001:0:0::7/126' }))).toBe('fd00:1::4/126 (fd00:1::5-fd00:1::7)');
    expect(describeRange(parseRange({ subnet: '10.1.0.77/30' }))).toBe('10.1.0.76/30 (10.1.0.77-10.1.0.78)');
  });

  it('honours rangeStart, rangeEnd and gateway', () => {
    const r = parseRange({ subnet: '10.1.0.0/24', rangeStart: '10.1.0.100', rangeEnd: '10.1.0.110', gateway: '10.1.0.254' });
    expect(describeRange(r)).toBe('10.1.0.0/24 (10.1.0.100-10.1.0.110)');
    expect(r.gateway).toBe(BigInt(0x0a0100fe));
  });

  it('narrows the range to a Docker-style ipRange, never handing out the subnet network or broadcast', () => {
    expect(describeRange(parseRange({ subnet: '10.1.0.0/24', ipRange: '10.1.0.128/25' }))).toBe('10.1.0.0/24 (10.1.0.128-10.1.0.254)');
    expect(describeRange(parseRange({ subnet: '10.1.0.0/24', ipRange: '10.1.0.0/26' }))).toBe('10.1.0.0/24 (10.1.0.1-10.1.0.63)');
  });

  it('rejects malformed CIDRs and addresses with SWY_ERR_INVALID_CIDR naming the value', async () => {
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0/33' })), 'SWY_ERR_INVALID_CIDR', '10.1.0.0/33');
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0' })), 'SWY_ERR_INVALID_CIDR', '10.1.0.0');
    expectCoded(await caught(() => parseRange({ subnet: 'banana/24' })), 'SWY_ERR_INVALID_CIDR', 'banana/24');
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0/24', gateway: '10.1.0.300' })), 'SWY_ERR_INVALID_CIDR', '10.1.0.300', 'gateway');
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0/24', rangeStart: '10.1.0.5/24' })), 'SWY_ERR_INVALID_CIDR', 'rangeStart');
    expectCoded(await caught(() => parseRange({ subnet: '::ffff:10.0.0.0/120' })), 'SWY_ERR_INVALID_CIDR');
  });

  it('rejects /31, /32, /127 and /128 with SWY_ERR_SUBNET_TOO_SMALL', async () => {
    for (const subnet of ['10.1.0.0/31', '10.1.0.1/32', 'fd00::/127', 'fd00::1/128']) {
      expectCoded(await caught(() => parseRange({ subnet })), 'SWY_ERR_SUBNET_TOO_SMALL', subnet);
    }
    expect(describeRange(parseRange({ subnet: '10.1.0.0/30' }))).toBe('10.1.0.0/30 (10.1.0.1-10.1.0.2)');
  });

  it('rejects start, end or gateway outside the subnet, and start after end, with SWY_ERR_RANGE_INVALID', async () => {
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0/24', rangeStart: '10.2.0.1' })), 'SWY_ERR_RANGE_INVALID', '10.2.0.1', '10.1.0.0/24');
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0/24', rangeEnd: '10.1.0.255' })), 'SWY_ERR_RANGE_INVALID', '10.1.0.255');
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0/24', gateway: '10.1.1.1' })), 'SWY_ERR_RANGE_INVALID', '10.1.1.1');
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0/24', gateway: 'fd00::1' })), 'SWY_ERR_RANGE_INVALID', 'fd00::1');
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0/24', rangeStart: '10.1.0.9', rangeEnd: '10.1.0.8' })), 'SWY_ERR_RANGE_INVALID', '10.1.0.9', '10.1.0.8');
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0/24', ipRange: '10.1.1.0/25' })), 'SWY_ERR_RANGE_INVALID', '10.1.1.0/25');
    expectCoded(await caught(() => parseRange({ subnet: '10.1.0.0/24', ipRange: '10.1.0.128/25', rangeStart: '10.1.0.5' })), 'SWY_ERR_RANGE_INVALID', '10.1.0.5', '10.1.0.128/25');
    expectCoded(await caught(() => parseRange({ rangeStart: '10.1.0.5' })), 'SWY_ERR_RANGE_INVALID', 'subnet');
  });

  it('rejects ranges of one set that overlap with SWY_ERR_POOL_OVERLAP naming both', async () => {
    const e = await caught(() =>
      parseRangeSet([
        { subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.50' },
        { subnet: '10.1.0.0/24', rangeStart: '10.1.0.40', rangeEnd: '10.1.0.90' },
      ]),
    );
    expectCoded(e, 'SWY_ERR_POOL_OVERLAP', '10.1.0.10-10.1.0.50', '10.1.0.40-10.1.0.90');
  });

  it('accepts disjoint ranges of one subnet in one set', () => {
    const set = parseRangeSet([{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.20' }, { subnet: '10.1.0.0/24', rangeStart: '10.1.0.30', rangeEnd: '10.1.0.40' }, { subnet: '10.2.0.0/16' }]);
    expect(set.ranges).toHaveLength(3);
    expect(set.family).toBe(4);
  });

  it('rejects a set that mixes families with SWY_ERR_RANGE_INVALID', async () => {
    expectCoded(await caught(() => parseRangeSet([{ subnet: '10.1.0.0/24' }, { subnet: 'fd00::/64' }])), 'SWY_ERR_RANGE_INVALID', 'mixes IPv4 and IPv6');
  });

  it('rejects an empty set with SWY_ERR_RANGE_INVALID', async () => {
    expectCoded(await caught(() => parseRangeSet([])), 'SWY_ERR_RANGE_INVALID', 'no range');
  });
});
