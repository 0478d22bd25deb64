import { isSwitchyardError } from '../../errors/switchyard-error.js';
import { assertIfName, assertMtu, assertNetnsName, assertNetnsPath, assertSysctlKey, assertSysctlValue, assertVlanId, cidrContains, normalizeMac, parseCidr, parseIpAddress, parseRouteDst } from '../names.js';
import { normalizeSteps } from '../normalize-step.js';
import type { KernelStep } from '../../spi/kernel.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isSwitchyardError(e) ? e.code : `not coded: ${String(e)}`;
  }
}

/** What `fn` throws; undefined when it returns. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e;
  }
}

describe('interface names', () => {
  it.each(['eth0', 'veth1a2b3c4d5e6', 'br-abc.100', 'a', 'x_y@z'])('accepts %j', (name) => {
    expect(assertIfName(name)).toBe(name);
  });

  it.each([
    ['empty', ''],
    ['16 characters (IFNAMSIZ)', 'abcdefghijklmnop'],
    ['a slash', 'a/b'],
    ['a colon (alias syntax)', 'eth0:1'],
    ['a space', 'eth 0'],
    ['a tab', 'eth\t0'],
    ['a newline that would start a second batch line', 'x\nlink del eth0'],
    ['a carriage return', 'x\r'],
    ['a leading dash that reads as an option', '-force'],
    ['a "#" that starts a batch comment', 'a#b'],
    ['a double quote', 'a"b'],
    ['a single quote', "a'b"],
    ['a backslash that continues a batch line', 'a\\'],
    ['"."', '.'],
    ['".."', '..'],
    ['a NUL byte', 'a\0b'],
    ['non-ASCII characters', 'ethé'],
    ['the word "all" (net.ipv4.conf.all is every interface; the kernel refuses it)', 'all'],
    ['the word "default" (the kernel refuses it too)', 'default'],
  ])('refuses a name with %s with SWY_ERR_INVALID_NAME', (_what, name) => {
    expect(codeOf(() => assertIfName(name))).toBe('SWY_ERR_INVALID_NAME');
  });

  it('refuses a value that is not a string', () => {
    expect(codeOf(() => assertIfName(42))).toBe('SWY_ERR_INVALID_NAME');
  });

  it('says what is wrong and what to do', () => {
    const e = thrown(() => assertIfName('way-too-long-interface'));
    expect(isSwitchyardError(e) && e.message).toContain('longer than 15 characters');
    expect(isSwitchyardError(e) && e.hint).toContain('1 to 15');
  });
});

describe('namespace names and paths', () => {
  it('accepts container-style names and refuses ones that could escape /run/netns or split a command', () => {
    expect(assertNetnsName('sb-1.a_b')).toBe('sb-1.a_b');
    for (const bad of ['', '../etc', 'a/b', '.hidden', '-n', 'a b', 'a\nb', 'x'.repeat(201)]) {
      expect(codeOf(() => assertNetnsName(bad))).toBe('SWY_ERR_INVALID_NAME');
    }
  });

  it('accepts absolute paths and refuses relative ones or ones with spaces, newlines, NUL or "#"', () => {
    expect(assertNetnsPath('/proc/123/ns/net')).toBe('/proc/123/ns/net');
    for (const bad of ['proc/1/ns/net', '/a b', '/a\nlink del x', '/a\0', '/a#b', '']) {
      expect(codeOf(() => assertNetnsPath(bad))).toBe('SWY_ERR_INVALID_NAME');
    }
  });
});

describe('MAC addresses', () => {
  it('normalises a unicast address to lower case', () => {
    expect(normalizeMac('02:42:AC:11:00:02')).toBe('02:42:ac:11:00:02');
  });

  it.each(['01:00:5e:00:00:01', '00:00:00:00:00:00', '02:42:ac:11:00', '02-42-ac-11-00-02', '02:42:ac:11:00:02\n', 'zz:42:ac:11:00:02'])('refuses %j with SWY_ERR_INVALID_MAC', (mac) => {
    expect(codeOf(() => normalizeMac(mac))).toBe('SWY_ERR_INVALID_MAC');
  });
});

describe('addresses and CIDRs', () => {
  it('canonicalises IPv4 and IPv6 CIDRs and computes their network', () => {
    expect(parseCidr('10.1.0.2/24')).toEqual({ cidr: '10.1.0.2/24', address: '10.1.0.2', prefix: 24, family: 4, network: '10.1.0.0' });
    expect(parseCidr('FD00:0::2/64')).toMatchObject({ cidr: 'fd00::2/64', family: 6, network: 'fd00::' });
  });

  it.each(['10.1.0.2', '10.1.0.2/33', '10.1.0.2/24 ', '10.1.0.2/24\nlink del x', 'fe80::1%eth0/64', '010.1.0.1/24', 'fd00::1/129', '10.1.0/24', '10.1.0.2/-1', '10.1.0.2/024x'])('refuses %j with SWY_ERR_INVALID_CIDR', (cidr) => {
    expect(codeOf(() => parseCidr(cidr))).toBe('SWY_ERR_INVALID_CIDR');
  });

  it('parses plain addresses and refuses prefixes, zones and spaces in them', () => {
    expect(parseIpAddress('10.0.0.1')).toEqual({ address: '10.0.0.1', family: 4 });
    expect(parseIpAddress('FD00::0001')).toEqual({ address: 'fd00::1', family: 6 });
    for (const bad of ['10.0.0.1/32', 'fe80::1%eth0', ' 10.0.0.1', 'default']) expect(codeOf(() => parseIpAddress(bad))).toBe('SWY_ERR_INVALID_CIDR');
  });

  it('takes "default" or a network as a route destination and refuses host bits', () => {
    expect(parseRouteDst('default')).toEqual({ dst: 'default' });
    expect(parseRouteDst('10.2.0.0/16')).toEqual({ dst: '10.2.0.0/16', family: 4 });
    expect(codeOf(() => parseRouteDst('10.2.0.1/16'))).toBe('SWY_ERR_INVALID_CIDR');
  });

  it('tells whether an address lies inside a CIDR', () => {
    expect(cidrContains('10.1.0.0/24', '10.1.0.77')).toBe(true);
    expect(cidrContains('10.1.0.0/24', '10.1.1.1')).toBe(false);
    expect(cidrContains('fd00::/64', '10.1.0.1')).toBe(false);
  });
});

describe('sysctl keys, values and numbers', () => {
  it('accepts dotted keys and refuses paths, spaces and option-like keys', () => {
    expect(assertSysctlKey('net.ipv4.conf.veth0.forwarding')).toBe('net.ipv4.conf.veth0.forwarding');
    for (const bad of ['net/ipv4/ip_forward', 'ip_forward', 'net.ipv4..x', 'net.ipv4.ip forward', '-w.x', 'net.ipv4.x=1', 'net.ipv4.x\n']) {
      expect(codeOf(() => assertSysctlKey(bad))).toBe('SWY_ERR_INVALID_OPTION');
    }
  });

  it('accepts one-line values (tabs allowed) and refuses newlines', () => {
    expect(assertSysctlValue('32768\t60999')).toBe('32768\t60999');
    expect(codeOf(() => assertSysctlValue('1\n'))).toBe('SWY_ERR_INVALID_OPTION');
    expect(codeOf(() => assertSysctlValue(''))).toBe('SWY_ERR_INVALID_OPTION');
  });

  it('keeps MTUs in 68..65535 and VLAN ids in 1..4094', () => {
    expect(assertMtu(1500)).toBe(1500);
    for (const bad of [67, 65536, 1500.5, Number.NaN, '1500']) expect(codeOf(() => assertMtu(bad))).toBe('SWY_ERR_INVALID_OPTION');
    expect(assertVlanId(4094)).toBe(4094);
    for (const bad of [0, 4095]) expect(codeOf(() => assertVlanId(bad))).toBe('SWY_ERR_INVALID_OPTION');
  });
});

describe('whole plans', () => {
  const host = { kind: 'host' } as const;

  it('refuses a plan with one bad step before anything could run, naming the step', () => {
    const plan = [
      { ns: host, op: { op: 'link.add', kind: 'bridge', name: 'br0' } },
      { ns: host, op: { op: 'addr.add', dev: 'br0', cidr: '10.0.0.1/24\nlink del eth0' } },
    ] as KernelStep[];
    const e = thrown(() => normalizeSteps(plan));
    expect(isSwitchyardError(e, 'SWY_ERR_INVALID_CIDR')).toBe(true);
    expect((e as Error).message).toMatch(/^Step 2 of the kernel plan/);
  });

  it('refuses unknown operations, unknown link kinds and inconsistent routes', () => {
    const bad: unknown[] = [
      { op: 'link.frob', name: 'x' },
      { op: 'link.add', kind: 'wireguard', name: 'wg0' },
      { op: 'link.add', kind: 'veth', name: 'v0' },
      { op: 'link.add', kind: 'macvlan', name: 'm0', parent: 'eth0', mode: 'source' },
      { op: 'route.add', dst: '10.0.0.0/8', via: 'fd00::1' },
      { op: 'route.add', dst: '10.0.0.0/8' },
      { op: 'route.add', dst: 'default', via: '10.0.0.1', onlink: true },
      { op: 'link.set', name: 'v0', master: 'br0', netns: { kind: 'named', name: 'x' } },
      { op: 'link.set', name: 'v0', up: 'yes' },
    ];
    for (const op of bad) expect(codeOf(() => normalizeSteps([{ ns: host, op } as KernelStep]))).toBe('SWY_ERR_INVALID_OPTION');
    expect(codeOf(() => normalizeSteps([{ ns: { kind: 'named', name: 'a b' }, op: { op: 'link.del', name: 'x' } }]))).toBe('SWY_ERR_INVALID_NAME');
  });

  it('fills in a route family from its addresses and lower-cases MACs', () => {
    const [route, link] = normalizeSteps([
      { ns: host, op: { op: 'route.add', dst: 'default', via: 'FD00::1' } },
      { ns: host, op: { op: 'link.set', name: 'v0', mac: '02:AA:BB:CC:DD:EE' } },
    ]);
    expect(route?.op).toEqual({ op: 'route.add', dst: 'default', via: 'fd00::1', family: 6 });
    expect(link?.op).toEqual({ op: 'link.set', name: 'v0', mac: '02:aa:bb:cc:dd:ee' });
  });
});
