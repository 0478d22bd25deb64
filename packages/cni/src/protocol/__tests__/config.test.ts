import { gcAttachments, GC_ATTACHMENTS_KEY, GC_ATTACHMENTS_SPEC_KEY, parseConfig, peekConfigVersion, type NetConf } from '../config.js';
import { resultFor } from '../result.js';
import { configText, expectCniError, fullResult } from './helpers.js';

const attachments = [{ containerID: 'c0ffee-01', ifname: 'eth0' }];

describe('parseConfig', () => {
  it('returns the config with its well-known fields and keeps the plugin-specific ones', () => {
    const text = configText('1.1.0', {
      bridge: 'syb0',
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/24' }]] },
      dns: { nameservers: ['10.1.0.1'], domain: 'example.org', search: ['example.org'], options: ['ndots:2'] },
      runtimeConfig: { portMappings: [] },
      args: { cni: { ips: ['10.1.0.9'] } },
      capabilities: { portMappings: true },
    });
    const config: NetConf = parseConfig(text, 'ADD');
    expect(config).toEqual(JSON.parse(text));
    expect(config.bridge).toBe('syb0');
  });

  it('accepts an empty ipam section (a network without IPAM)', () => {
    expect(parseConfig(configText('1.0.0', { ipam: {} }), 'ADD').ipam).toEqual({});
  });

  it.each(['', ' ', '{', '{"cniVersion": "1.1.0",}', 'not json', '\ufeff{}'])('refuses the undecodable stdin %p (code 6)', (text) => {
    expectCniError(() => parseConfig(text, 'ADD'), 6, 'failed to decode network config');
  });

  it.each(['null', '[]', '"1.1.0"', '42', 'true', '[{"cniVersion": "1.1.0"}]'])('refuses %s, which is JSON but not an object (code 6)', (text) => {
    expect(expectCniError(() => parseConfig(text, 'DEL'), 6).details).toMatch(/expected a JSON object/);
  });

  it('refuses a config without cniVersion (code 7)', () => {
    expectCniError(() => parseConfig('{"name": "n", "type": "t"}', 'ADD'), 7, 'invalid network config');
  });

  it.each([1, null, ['1.1.0'], 'latest', '1.1'])('refuses the cniVersion %p (code 7)', (cniVersion) => {
    expectCniError(() => parseConfig(JSON.stringify({ cniVersion, name: 'n', type: 't' }), 'ADD'), 7, 'invalid network config');
  });

  it.each(['0.1.0', '0.2.0', '0.3.0', '2.0.0'])('refuses the unsupported cniVersion %s (code 1)', (version) => {
    expectCniError(() => parseConfig(configText(version), 'ADD'), 1, 'incompatible CNI versions');
  });

  it('refuses a version outside the plugin list (code 1)', () => {
    expectCniError(() => parseConfig(configText('0.3.1'), 'ADD', ['1.0.0', '1.1.0']), 1);
    expect(parseConfig(configText('1.0.0'), 'ADD', ['1.0.0', '1.1.0']).cniVersion).toBe('1.0.0');
  });

  it('gates CHECK, STATUS and GC by the config version (code 1)', () => {
    const prevResult = resultFor(fullResult(), '0.3.1');
    expectCniError(() => parseConfig(configText('0.3.1', { prevResult }), 'CHECK'), 1, 'config version does not allow CHECK');
    expectCniError(() => parseConfig(configText('1.0.0'), 'STATUS'), 1, 'config version does not allow STATUS');
    expectCniError(() => parseConfig(configText('1.0.0', { [GC_ATTACHMENTS_KEY]: attachments }), 'GC'), 1, 'config version does not allow GC');
    expect(parseConfig(configText('0.4.0', { prevResult: resultFor(fullResult(), '0.4.0') }), 'CHECK').cniVersion).toBe('0.4.0');
    expect(parseConfig(configText('1.1.0'), 'STATUS').cniVersion).toBe('1.1.0');
  });

  it.each(['a', '1net', 'my_net.v-1', 'A'])('accepts the network name %p', (name) => {
    expect(parseConfig(JSON.stringify({ cniVersion: '1.0.0', name, type: 't' }), 'ADD').name).toBe(name);
  });

  it.each([undefined, '', '-net', '_net', '.net', 'net work', 'net/x', 'nét', 'net:1', 12, null])('refuses the network name %p (code 7)', (name) => {
    expect(expectCniError(() => parseConfig(JSON.stringify({ cniVersion: '1.0.0', name, type: 't' }), 'ADD'), 7, 'invalid network config').details).toMatch(/^name /);
  });

  it.each([undefined, '', 5, null, 'a/b', 'a\\b', '../bridge', 'br\u0000'])('refuses the plugin type %p (code 7)', (type) => {
    expect(expectCniError(() => parseConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type }), 'ADD'), 7).details).toMatch(/^type /);
  });

  it.each([
    ['ipam', 'host-local', /^ipam must be an object/],
    ['ipam', { type: 3 }, /^ipam\.type must be a non-empty string/],
    ['ipam', { type: '/usr/bin/host-local' }, /^ipam\.type names an executable/],
    ['dns', ['10.0.0.1'], /^dns must be an object/],
    ['dns', { nameservers: ['dns.example.org'] }, /^dns\.nameservers\[0\] must be an IPv4 or IPv6 address/],
    ['dns', { nameservers: '10.0.0.1' }, /^dns\.nameservers must be a list of strings/],
    ['dns', { domain: 5 }, /^dns\.domain must be a string/],
    ['dns', { search: [1] }, /^dns\.search\[0\] must be a string/],
    ['dns', { options: 'ndots:5' }, /^dns\.options must be a list/],
    ['runtimeConfig', [], /^runtimeConfig must be an object/],
    ['args', 'K=V', /^args must be an object/],
    ['prevResult', [], /^prevResult must be an object/],
  ])('refuses %s = %p (code 7)', (key, value, details) => {
    expect(expectCniError(() => parseConfig(configText('1.1.0', { [key]: value }), 'ADD'), 7, 'invalid network config').details).toMatch(details);
  });

  it('reports every problem of the config at once', () => {
    const error = expectCniError(() => parseConfig(JSON.stringify({ cniVersion: '1.1.0', name: '-x', type: '', dns: { domain: 1 } }), 'ADD'), 7);
    expect(error.details?.split('; ')).toHaveLength(3);
  });

  it('validates prevResult as a result of the config version, whatever version it says it is', () => {
    expect(parseConfig(configText('0.4.0', { prevResult: { ...resultFor(fullResult(), '0.4.0'), cniVersion: '1.1.0' } }), 'DEL').prevResult).toBeDefined();
    // A 0.4.0-shaped prevResult (ips with "version") in a 1.0.0 config is not a 1.0.0 result.
    const error = expectCniError(() => parseConfig(configText('1.0.0', { prevResult: resultFor(fullResult(), '0.4.0') }), 'DEL'), 7);
    expect(error.details).toMatch(/^prevResult: ips\[0\]\.version is not a field/);
  });

  it('refuses a prevResult with a bad address (code 7)', () => {
    const prevResult = { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5' }] };
    expect(expectCniError(() => parseConfig(configText('1.0.0', { prevResult }), 'ADD'), 7).details).toMatch(/^prevResult: ips\[0\]\.address must be an IP address with a prefix length/);
  });

  it('requires prevResult for CHECK (code 7)', () => {
    expect(expectCniError(() => parseConfig(configText('1.1.0'), 'CHECK'), 7).details).toMatch(/prevResult is required for CHECK/);
  });
});

describe('parseConfig for GC', () => {
  it.each([GC_ATTACHMENTS_KEY, GC_ATTACHMENTS_SPEC_KEY])('reads the attachments to keep from %s', (key) => {
    const config = parseConfig(configText('1.1.0', { [key]: attachments }), 'GC');
    expect(gcAttachments(config)).toEqual(attachments);
  });

  it('accepts an empty list (keep nothing)', () => {
    expect(gcAttachments(parseConfig(configText('1.1.0', { [GC_ATTACHMENTS_KEY]: [] }), 'GC'))).toEqual([]);
  });

  it('refuses a GC without the list rather than collecting everything (code 7)', () => {
    expect(expectCniError(() => parseConfig(configText('1.1.0'), 'GC'), 7).details).toMatch(/cni\.dev\/valid-attachments is required for GC/);
  });

  it.each([{}, 'c1/eth0', [{ containerID: 'c1' }], [{ containerID: 1, ifname: 'eth0' }], [null]])('refuses the attachment list %p (code 7)', (list) => {
    expectCniError(() => parseConfig(configText('1.1.0', { [GC_ATTACHMENTS_KEY]: list }), 'GC'), 7, 'invalid network config');
  });

  it('refuses to read attachments from a config without them', () => {
    expectCniError(() => gcAttachments(parseConfig(configText('1.1.0'), 'ADD')), 7);
  });
});

describe('parseConfig for VERSION', () => {
  it.each([
    ['', {}],
    ['   ', {}],
    ['{}', {}],
    ['{"cniVersion": "1.0.0"}', { cniVersion: '1.0.0' }],
    ['{"cniVersion": "0.1.0"}', { cniVersion: '0.1.0' }],
    ['{"cniVersion": 5}', {}],
    ['{"cniVersion": "1.1.0", "name": "-not-checked-"}', { cniVersion: '1.1.0' }],
  ])('reads %p leniently', (text, expected) => {
    expect(parseConfig(text, 'VERSION')).toEqual(expected);
  });

  it.each(['{', '[]', 'null', 'garbage'])('still refuses %p, which is not a JSON object (code 6)', (text) => {
    expectCniError(() => parseConfig(text, 'VERSION'), 6, 'failed to decode VERSION request');
  });
});

describe('peekConfigVersion', () => {
  it('finds a supported cniVersion and nothing else', () => {
    expect(peekConfigVersion(configText('0.4.0'))).toBe('0.4.0');
    expect(peekConfigVersion(configText('0.2.0'))).toBeUndefined();
    expect(peekConfigVersion(configText('0.4.0'), ['1.0.0'])).toBeUndefined();
    expect(peekConfigVersion('{')).toBeUndefined();
    expect(peekConfigVersion('["1.0.0"]')).toBeUndefined();
  });
});
