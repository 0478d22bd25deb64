import { formatCidr } from '../address.js';
import { defaultPoolCandidates, parseExcludes, pickDefaultPool } from '../default-pools.js';
import { caught, expectCoded } from './helpers.js';

const pick = (family: 4 | 6, exclude: string[]) => formatCidr(pickDefaultPool(family, parseExcludes(exclude, family)));

describe('default pools', () => {
  it("lists Docker's 31 local IPv4 pools in Docker's order", () => {
    const all = [...defaultPoolCandidates(4)].map(formatCidr);
    expect(all).toHaveLength(31);
    expect(all.slice(0, 2)).toEqual(['172.17.0.0/16', '172.18.0.0/16']);
    expect(all[14]).toBe('172.31.0.0/16');
    expect(all.slice(15, 17)).toEqual(['192.168.0.0/20', '192.168.16.0/20']);
    expect(all[30]).toBe('192.168.240.0/20');
  });

  it('picks 172.17.0.0/16 when nothing is excluded', () => {
    expect(pick(4, [])).toBe('172.17.0.0/16');
  });

  it('skips candidates that overlap an excluded route, address or network', () => {
    expect(pick(4, ['172.17.0.1', '172.18.5.0/24', '172.16.0.0/15', '10.0.0.0/8'])).toBe('172.19.0.0/16');
    expect(pick(4, ['172.16.0.0/12', '192.168.0.0/19'])).toBe('192.168.32.0/20');
  });

  it('ignores excludes of the other family and entries that are not addresses', () => {
    expect(pick(4, ['fd00::/8', 'not-an-address', '172.17.0.0/16'])).toBe('172.18.0.0/16');
  });

  it('picks IPv6 /64s from the fd00:5377::/48 ULA prefix', () => {
    expect(pick(6, [])).toBe('fd00:5377::/64');
    expect(pick(6, ['fd00:5377::/63', '10.0.0.0/8'])).toBe('fd00:5377:0:2::/64');
  });

  it('fails with SWY_ERR_NO_FREE_POOL when every candidate is taken', async () => {
    expectCoded(await caught(() => pick(4, ['172.16.0.0/12', '192.168.0.0/16'])), 'SWY_ERR_NO_FREE_POOL', 'IPv4');
    expectCoded(await caught(() => pick(6, ['fd00::/8'])), 'SWY_ERR_NO_FREE_POOL', 'fd00:5377::/48');
  });
});
