import { effectiveUpstreams, formatUpstream, nameserversOf, parseUpstream } from '../upstreams.js';
import { addressOfReverseName, canonicalAddress } from '../addresses.js';

test('parses ip, ip:port, IPv6 and [IPv6]:port', () => {
  expect(parseUpstream('1.1.1.1')).toEqual({ address: '1.1.1.1', port: 53, family: 4 });
  expect(parseUpstream('10.0.0.1:5353')).toEqual({ address: '10.0.0.1', port: 5353, family: 4 });
  expect(parseUpstream('fd00::53')).toEqual({ address: 'fd00::53', port: 53, family: 6 });
  expect(parseUpstream('[fd00::53]:5353')).toEqual({ address: 'fd00::53', port: 5353, family: 6 });
  expect(parseUpstream('[::1]')).toEqual({ address: '::1', port: 53, family: 6 });
  expect(formatUpstream(parseUpstream('[fd00::53]:5353'))).toBe('[fd00::53]:5353');
  expect(formatUpstream(parseUpstream('1.1.1.1'))).toBe('1.1.1.1:53');
});

test.each(['', 'dns.example', '1.1.1.1:0', '1.1.1.1:70000', '10.0.0.0/8', '[1.1.1.1]:53x', 'fd00::53:5353x'])('rejects %j with SWY_ERR_INVALID_OPTION', (text) => {
  expect(() => parseUpstream(text)).toThrow(expect.objectContaining({ code: 'SWY_ERR_INVALID_OPTION' }));
});

test('reads the nameservers of a resolv.conf, loopback ones included, zone ids dropped', () => {
  const conf = '# generated\nsearch example\nnameserver 127.0.0.53\nnameserver  fe80::1%eth0\n;nameserver 9.9.9.9\nnameserver bogus\noptions edns0\n';
  expect(nameserversOf(conf)).toEqual(['127.0.0.53', 'fe80::1']);
});

test('the effective upstreams: the given ones, else the host’s, minus the responder’s own addresses, without duplicates', () => {
  const self = new Set(['10.1.0.1:53', '[fd01::1]:53']);
  expect(effectiveUpstreams(['9.9.9.9', '10.1.0.1', '9.9.9.9:53', '[fd01::1]:53'], self).map(formatUpstream)).toEqual(['9.9.9.9:53']);
  expect(effectiveUpstreams(undefined, self, () => ['127.0.0.53', '10.1.0.1']).map(formatUpstream)).toEqual(['127.0.0.53:53']);
  expect(effectiveUpstreams([], self, () => [])).toEqual([]);
});

test('addresses: canonical forms and reverse names', () => {
  expect(canonicalAddress('::ffff:10.1.0.2')).toBe('10.1.0.2');
  expect(canonicalAddress('FD01:0:0::2/64')).toBe('fd01::2');
  expect(canonicalAddress('nope')).toBeUndefined();
  expect(addressOfReverseName('4.3.2.1.IN-ADDR.ARPA.')).toBe('1.2.3.4');
  expect(addressOfReverseName('3.2.1.in-addr.arpa')).toBeUndefined();
  expect(addressOfReverseName('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa')).toBe('fd00::1');
  expect(addressOfReverseName('1.0.d.f.ip6.arpa')).toBeUndefined();
  expect(addressOfReverseName('web')).toBeUndefined();
});
