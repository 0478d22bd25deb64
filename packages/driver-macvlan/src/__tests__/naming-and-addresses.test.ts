import { lastHostAddress, parseVlanName, shimName, tempLinkName } from '../index.js';

const ID = 'c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc';

describe('master names, temporary names and shim addresses', () => {
  it('reads parent.vlanid as an 802.1Q VLAN on the parent, for VLAN ids 1 to 4094 only', () => {
    expect(parseVlanName('eth0.10')).toEqual({ parent: 'eth0', id: 10 });
    expect(parseVlanName('bond0.4094')).toEqual({ parent: 'bond0', id: 4094 });
    expect(parseVlanName('a.b.7')).toEqual({ parent: 'a.b', id: 7 });
    expect(parseVlanName('eth0')).toBeUndefined();
    expect(parseVlanName('eth0.0')).toBeUndefined();
    expect(parseVlanName('eth0.4095')).toBeUndefined();
    expect(parseVlanName('br.lan')).toBeUndefined();
    expect(parseVlanName('.10')).toBeUndefined();
  });

  it('makes temporary and shim names that fit in an interface name (15 characters)', () => {
    expect(tempLinkName('mvl', ID)).toBe('mvlc0ffee0011');
    expect(tempLinkName('ipv', ID).length <= 15).toBe(true);
    expect(shimName(ID)).toBe('mvshimc0ffee00');
  });

  it('picks the highest host address of a subnet: below the IPv4 broadcast, the last IPv6 address', () => {
    expect(lastHostAddress('10.1.0.0/24')).toBe('10.1.0.254');
    expect(lastHostAddress('172.16.0.0/12')).toBe('172.31.255.254');
    expect(lastHostAddress('10.1.0.0/30')).toBe('10.1.0.2');
    expect(lastHostAddress('fd00:1::/64')).toBe('fd00:1::ffff:ffff:ffff:ffff');
    expect(lastHostAddress('fd00:1:2:3::/112')).toBe('fd00:1:2:3::ffff');
  });

  it('finds no host address in an IPv4 /31 or /32', () => {
    expect(lastHostAddress('10.1.0.0/31')).toBeUndefined();
    expect(lastHostAddress('10.1.0.7/32')).toBeUndefined();
  });
});
