import { resultFor, resultProblems, upconvertPrevResult, type CniResult } from '../result.js';
import { SUPPORTED_VERSIONS } from '../versions.js';
import { expectCniError, fullResult } from './helpers.js';

describe('resultFor', () => {
  it.each(SUPPORTED_VERSIONS)('writes a result that is valid for %s', (version) => {
    const out = resultFor(fullResult(), version);
    expect(out.cniVersion).toBe(version);
    expect(resultProblems(out, version)).toEqual([]);
  });

  it.each(SUPPORTED_VERSIONS)('writes a result for %s that no other version accepts', (version) => {
    const out = resultFor(fullResult(), version);
    for (const other of SUPPORTED_VERSIONS.filter((v) => v !== version)) expect(resultProblems(out, other)).not.toEqual([]);
  });

  it('keeps a 1.1.0 result as it is', () => {
    expect(resultFor(fullResult(), '1.1.0')).toEqual({ cniVersion: '1.1.0', ...fullResult() });
  });

  it('drops the 1.1.0-only interface and route fields for 1.0.0', () => {
    const out = resultFor(fullResult(), '1.0.0');
    expect(out.interfaces).toEqual([
      { name: 'syb0', mac: '0a:58:0a:01:00:01' },
      { name: 'eth0', mac: '0a:58:0a:01:00:05', sandbox: '/run/netns/test' },
    ]);
    expect(out.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.1.0.1' }, { dst: '::/0' }]);
    expect(out.ips).toEqual(fullResult().ips);
    expect(out.dns).toEqual(fullResult().dns);
  });

  it.each(['0.3.1', '0.4.0'] as const)('gives each ip its family and keeps only dst and gw of routes for %s', (version) => {
    const out = resultFor(fullResult(), version);
    expect(out.ips).toEqual([
      { version: '4', address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 1 },
      { version: '6', address: 'fd00:1::5/64', gateway: 'fd00:1::1', interface: 1 },
    ]);
    expect(out.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.1.0.1' }, { dst: '::/0' }]);
    expect(JSON.parse(JSON.stringify(out))).toEqual({ cniVersion: version, interfaces: resultFor(fullResult(), '1.0.0').interfaces, ips: out.ips, routes: out.routes, dns: fullResult().dns });
  });

  it('sets cniVersion whatever the handler put there, and leaves absent sections absent', () => {
    expect(resultFor({ cniVersion: '0.2.0', ips: [{ address: '10.0.0.2/8' }] }, '1.0.0')).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/8' }] });
    expect(resultFor({}, '0.3.1')).toEqual({ cniVersion: '0.3.1' });
  });

  it('neither changes its input nor shares lists with it', () => {
    const input = fullResult();
    const out = resultFor(input, '0.4.0');
    expect(input).toEqual(fullResult());
    expect(out.dns?.nameservers).not.toBe(input.dns?.nameservers);
    expect(out.interfaces?.[0]).not.toBe(input.interfaces?.[0]);
  });

  it('drops fields no version defines', () => {
    const sloppy = { ips: [{ address: '10.0.0.2/8', label: 'x' }], routes: [{ dst: '10.0.0.0/8', via: 'x' }] } as unknown as CniResult;
    expect(resultFor(sloppy, '1.1.0')).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/8' }], routes: [{ dst: '10.0.0.0/8' }] });
  });
});

describe('upconvertPrevResult', () => {
  it.each(['0.3.1', '0.4.0'] as const)('turns a %s prevResult into the 1.x form', (version) => {
    const prev = JSON.parse(JSON.stringify(resultFor(fullResult(), version)));
    expect(upconvertPrevResult(prev, version)).toEqual((({ cniVersion: _, ...rest }) => rest)(resultFor(fullResult(), '1.0.0')));
  });

  it.each(['1.0.0', '1.1.0'] as const)('keeps a %s prevResult as it is (without cniVersion)', (version) => {
    const { cniVersion: _, ...expected } = resultFor(fullResult(), version);
    expect(upconvertPrevResult(resultFor(fullResult(), version), version)).toEqual(expected);
  });

  it('accepts an IPAM-style prevResult without interfaces', () => {
    expect(upconvertPrevResult({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/8' }], dns: {} }, '0.4.0')).toEqual({ ips: [{ address: '10.0.0.2/8' }], dns: {} });
  });

  it('refuses an invalid prevResult (code 7)', () => {
    expectCniError(() => upconvertPrevResult([], '1.0.0'), 7, 'invalid network config');
    expect(expectCniError(() => upconvertPrevResult({ ips: [{ address: '10.0.0.2/8' }] }, '0.4.0'), 7).details).toMatch(/ips\[0\]\.version is required/);
  });
});

describe('resultProblems', () => {
  const valid = (version: (typeof SUPPORTED_VERSIONS)[number]) => JSON.parse(JSON.stringify(resultFor(fullResult(), version)));

  it('accepts the smallest results: cniVersion alone, and an IPAM result', () => {
    expect(resultProblems({ cniVersion: '1.1.0' }, '1.1.0')).toEqual([]);
    expect(resultProblems({ cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }], dns: {} }, '1.0.0')).toEqual([]);
    expect(resultProblems({ cniVersion: '0.3.1', ips: [{ version: '6', address: '::1/128' }] }, '0.3.1')).toEqual([]);
  });

  it('accepts a host interface with an empty sandbox and an infiniband hardware address', () => {
    expect(resultProblems({ cniVersion: '1.0.0', interfaces: [{ name: 'ib0', mac: '80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:01', sandbox: '' }] }, '1.0.0')).toEqual([]);
  });

  it.each([null, [], 'result', 5])('refuses %p, which is not an object', (json) => {
    expect(resultProblems(json, '1.0.0')).toEqual([expect.stringMatching(/must be a JSON object/)]);
  });

  it('refuses a version it does not know', () => {
    expect(resultProblems({ cniVersion: '0.2.0' }, '0.2.0')).toEqual([expect.stringMatching(/not a result version/)]);
  });

  type Case = [string, (typeof SUPPORTED_VERSIONS)[number], (r: Record<string, any>) => void, RegExp];
  const cases: Case[] = [
    ['a missing cniVersion', '1.0.0', (r) => delete r.cniVersion, /^cniVersion must be "1\.0\.0", got undefined/],
    ['another cniVersion', '1.0.0', (r) => (r.cniVersion = '1.1.0'), /^cniVersion must be "1\.0\.0"/],
    ['an unknown top-level key', '1.1.0', (r) => (r.ip4 = {}), /^ip4 is not a field/],
    ['interfaces that are not a list', '1.1.0', (r) => (r.interfaces = { name: 'eth0' }), /^interfaces must be a list/],
    ['an interface that is not an object', '1.1.0', (r) => (r.interfaces[0] = 'eth0'), /^interfaces\[0\] must be an object/],
    ['an interface without a name', '1.1.0', (r) => delete r.interfaces[0].name, /^interfaces\[0\]\.name is required/],
    ['an interface with an empty name', '1.1.0', (r) => (r.interfaces[0].name = ''), /^interfaces\[0\]\.name must be a non-empty string/],
    ['a malformed mac', '1.1.0', (r) => (r.interfaces[0].mac = '0a-58-0a-01-00-01'), /^interfaces\[0\]\.mac must be a hardware address/],
    ['a negative interface mtu', '1.1.0', (r) => (r.interfaces[0].mtu = -1), /^interfaces\[0\]\.mtu must be an unsigned 32-bit integer/],
    ['an interface mtu in 1.0.0', '1.0.0', (r) => (r.interfaces[0].mtu = 1500), /^interfaces\[0\]\.mtu is not a field/],
    ['a socketPath in 0.4.0', '0.4.0', (r) => (r.interfaces[1].socketPath = '/x'), /^interfaces\[1\]\.socketPath is not a field/],
    ['a sandbox that is not a string', '1.1.0', (r) => (r.interfaces[1].sandbox = true), /^interfaces\[1\]\.sandbox must be a string/],
    ['ips that are not a list', '1.0.0', (r) => (r.ips = '10.1.0.5/24'), /^ips must be a list/],
    ['an ip without address', '1.0.0', (r) => delete r.ips[0].address, /^ips\[0\]\.address is required/],
    ['an address without prefix', '1.0.0', (r) => (r.ips[0].address = '10.1.0.5'), /^ips\[0\]\.address must be an IP address with a prefix length/],
    ['an IPv4 prefix of 33', '1.0.0', (r) => (r.ips[0].address = '10.1.0.5/33'), /^ips\[0\]\.address must be/],
    ['an IPv6 prefix of 129', '1.0.0', (r) => (r.ips[1].address = 'fd00::5/129'), /^ips\[1\]\.address must be/],
    ['a prefix with a leading zero', '1.0.0', (r) => (r.ips[0].address = '10.1.0.5/024'), /^ips\[0\]\.address must be/],
    ['an address with a zone', '1.0.0', (r) => (r.ips[1].address = 'fe80::5%eth0/64'), /^ips\[1\]\.address must be/],
    ['an IPv4 address with a leading zero', '1.0.0', (r) => (r.ips[0].address = '10.01.0.5/24'), /^ips\[0\]\.address must be/],
    ['a host name for an address', '1.0.0', (r) => (r.ips[0].address = 'host.example/24'), /^ips\[0\]\.address must be/],
    ['a gateway with a prefix', '1.0.0', (r) => (r.ips[0].gateway = '10.1.0.1/24'), /^ips\[0\]\.gateway must be an IPv4 or IPv6 address/],
    ['an interface index out of bounds', '1.0.0', (r) => (r.ips[0].interface = 2), /^ips\[0\]\.interface 2 is not an index into interfaces \(2 of them\)/],
    ['an interface index without interfaces', '1.0.0', (r) => delete r.interfaces, /^ips\[0\]\.interface 1 is not an index into interfaces \(0 of them\)/],
    ['a negative interface index', '1.0.0', (r) => (r.ips[0].interface = -1), /^ips\[0\]\.interface must be an unsigned/],
    ['an interface index as a string', '1.0.0', (r) => (r.ips[0].interface = '1'), /^ips\[0\]\.interface must be an unsigned/],
    ['an ip without version in 0.4.0', '0.4.0', (r) => delete r.ips[0].version, /^ips\[0\]\.version is required/],
    ['an ip version that is a number', '0.3.1', (r) => (r.ips[0].version = 4), /^ips\[0\]\.version must be "4" or "6"/],
    ['an ip version that contradicts the address', '0.4.0', (r) => (r.ips[0].version = '6'), /^ips\[0\]\.version is "6" but the address is IPv4/],
    ['an ip version in 1.0.0', '1.0.0', (r) => (r.ips[0].version = '4'), /^ips\[0\]\.version is not a field/],
    ['routes that are not a list', '1.1.0', (r) => (r.routes = {}), /^routes must be a list/],
    ['a route without dst', '1.1.0', (r) => delete r.routes[1].dst, /^routes\[1\]\.dst is required/],
    ['a route dst without prefix', '1.1.0', (r) => (r.routes[1].dst = '::'), /^routes\[1\]\.dst must be an IP address with a prefix length/],
    ['a route gw that is not an address', '1.1.0', (r) => (r.routes[0].gw = 'gateway'), /^routes\[0\]\.gw must be an IPv4 or IPv6 address/],
    ['a route table in 1.0.0', '1.0.0', (r) => (r.routes[0].table = 254), /^routes\[0\]\.table is not a field/],
    ['a route mtu in 0.4.0', '0.4.0', (r) => (r.routes[0].mtu = 1400), /^routes\[0\]\.mtu is not a field/],
    ['a fractional route scope', '1.1.0', (r) => (r.routes[0].scope = 0.5), /^routes\[0\]\.scope must be an unsigned 32-bit integer/],
    ['a route priority above 2^32-1', '1.1.0', (r) => (r.routes[0].priority = 2 ** 32), /^routes\[0\]\.priority must be an unsigned 32-bit integer/],
    ['dns that is not an object', '1.1.0', (r) => (r.dns = []), /^dns must be an object/],
    ['a nameserver that is not an address', '1.1.0', (r) => (r.dns.nameservers = ['ns1.example.org']), /^dns\.nameservers\[0\] must be an IPv4 or IPv6 address/],
    ['an unknown dns key', '1.1.0', (r) => (r.dns.sortlist = []), /^dns\.sortlist is not a field/],
  ];

  it.each(cases)('refuses %s (%s)', (_what, version, edit, problem) => {
    const result = valid(version);
    edit(result);
    expect(resultProblems(result, version)).toContainEqual(expect.stringMatching(problem));
  });

  it('reports every problem, not only the first', () => {
    const result = valid('1.1.0');
    result.interfaces[0].name = '';
    result.ips[0].address = 'x';
    result.routes[0].dst = 'y';
    expect(resultProblems(result, '1.1.0')).toHaveLength(3);
  });
});
