import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSwitchyardError } from '@switchyard/core';
import { parseNetConf, translateNetConf } from '@switchyard/cni';
import { loadNetDir } from '../netd/net-dir.js';
import { PODMAN_CONFLIST } from './cni-configs.js';
import { harness } from './harness.js';

function configErrorOf(fn: () => unknown): { message: string; details: Record<string, unknown> | undefined } {
  try {
    fn();
  } catch (e) {
    if (isSwitchyardError(e, 'SWY_ERR_CONFIG_INVALID')) return { message: e.message, details: e.details };
    throw e;
  }
  throw new Error('expected SWY_ERR_CONFIG_INVALID');
}

describe('net.d conf translation (rkt/CNI format -> NetworkSpec)', () => {
  test("rkt's default network (ptp, default route) becomes a veth network with defaultRoute", () => {
    const spec = translateNetConf('f.conf', { name: 'default', type: 'ptp', ipMasq: false, ipam: { type: 'host-local', subnet: '172.16.28.0/24', routes: [{ dst: '0.0.0.0/0' }] } });
    expect(spec).toEqual({
      name: 'default',
      driver: 'veth',
      ipam: { driver: 'host-local', ipv4: [{ subnet: '172.16.28.0/24' }] },
      options: { ipMasq: false, defaultRoute: true },
      labels: { 'switchyard.netd.file': 'f.conf' },
    });
  });

  test('a ptp network without routes gets no default route (CNI semantics, like rkt default-restricted)', () => {
    expect(translateNetConf('f.conf', { name: 'r', type: 'ptp', ipam: { subnet: '172.17.0.0/16' } }).options).toEqual({ defaultRoute: false });
  });

  test('bridge keys keep their CNI names; isDefaultGateway follows ipam.routes unless given', () => {
    const spec = translateNetConf('b.conf', {
      name: 'b',
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      ipMasq: false,
      mtu: 1400,
      hairpinMode: true,
      promiscMode: false,
      ipam: { type: 'host-local', subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.99', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] },
    });
    expect(spec.driver).toBe('bridge');
    expect(spec.options).toEqual({ bridge: 'cni0', isGateway: true, ipMasq: false, mtu: 1400, hairpinMode: true, promiscMode: false, isDefaultGateway: true });
    expect(spec.ipam?.ipv4).toEqual([{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.99', gateway: '10.1.0.1' }]);
    expect(translateNetConf('b.conf', { name: 'b', type: 'bridge', isDefaultGateway: false, ipam: { subnet: '10.1.0.0/24', routes: [{ dst: '0.0.0.0/0' }] } }).options).toEqual({ isDefaultGateway: false, isGateway: false });
    // CNI's rule: isGateway defaults to false, and isDefaultGateway turns it on.
    expect(translateNetConf('c.conf', { name: 'c', type: 'bridge', isDefaultGateway: true, ipam: { subnet: '10.1.0.0/24' } }).options).toEqual({ isDefaultGateway: true, isGateway: true });
  });

  test('macvlan and ipvlan take master, mode and mtu', () => {
    expect(translateNetConf('m.conf', { name: 'm', type: 'macvlan', master: 'eth1', mode: 'bridge', mtu: 1500 })).toMatchObject({ driver: 'macvlan', options: { master: 'eth1', mode: 'bridge', mtu: 1500 } });
    expect(translateNetConf('i.conf', { name: 'i', type: 'ipvlan', master: 'eth1', mode: 'l3' })).toMatchObject({ driver: 'ipvlan', options: { master: 'eth1', mode: 'l3' } });
  });

  test('a type Switchyard does not run natively becomes a driver-cni network that execs that CNI plugin, the file as its config', () => {
    const raw = { cniVersion: '1.0.0', name: 'f', type: 'flannel', delegate: { isDefaultGateway: true } };
    expect(translateNetConf('f.conf', raw)).toEqual({ name: 'f', driver: 'cni', options: { config: raw }, labels: { 'switchyard.netd.file': 'f.conf' } });
    const list = {
      cniVersion: '1.0.0',
      name: 'l',
      plugins: [
        { type: 'bridge', ipam: { type: 'host-local', subnet: '10.5.0.0/24' } },
        { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.accept_redirects': '0' } },
      ],
    };
    expect(parseNetConf('l.conflist', JSON.stringify(list))).toMatchObject({ name: 'l', driver: 'cni', options: { config: list } });
  });

  test('ipam.ranges: one set per family; IPv6 sets turn IPv6 on, IPv6 alone turns IPv4 off', () => {
    const dual = translateNetConf('d.conf', { name: 'd', type: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.2.0.0/24' }], [{ subnet: 'fd00:2::/64', gateway: 'fd00:2::1' }]] } });
    expect(dual.ipam).toEqual({ driver: 'host-local', ipv4: [{ subnet: '10.2.0.0/24' }], ipv6: [{ subnet: 'fd00:2::/64', gateway: 'fd00:2::1' }] });
    expect(dual.ipv6).toBe(true);
    const v6only = translateNetConf('6.conf', { name: 's', type: 'bridge', ipam: { ranges: [[{ subnet: 'fd00:3::/64' }]] } });
    expect(v6only).toMatchObject({ ipv6: true, ipv4: false });
  });

  test.each([
    ['{ not json', undefined, /is not valid JSON/],
    ['[]', undefined, /must hold one JSON object/],
    ['{"type":"bridge"}', 'name', /field "name" must be a network name/],
    ['{"name":"x"}', 'type', /field "type" must name a network type/],
    ['{"name":"x","type":"bridge","vlan":5}', 'vlan', /field "vlan" is not supported by the bridge driver/],
    ['{"name":"x","type":"bridge","ipam":{"subnet":"10.1.0.0"}}', 'ipam.subnet', /field "ipam.subnet" must be a CIDR/],
    ['{"name":"x","type":"bridge","ipam":{"subnet":"10.1.0.0/24","gateway":"fd00::1"}}', 'ipam.gateway', /must be an IPv4 address/],
    ['{"name":"x","type":"bridge","ipam":{"subnet":"10.1.0.0/24","exclude":[]}}', 'ipam.exclude', /is not supported/],
    ['{"name":"x","type":"ptp","ipam":{"subnet":"10.1.0.0/24","routes":[{"dst":"10.9.0.0/16"}]}}', 'ipam.routes[0].dst', /only default routes/],
    ['{"name":"x","type":"bridge","ipam":{"ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"10.2.0.0/24"}]]}}', 'ipam.ranges[1]', /second IPv4 range set/],
    ['{"name":"x","plugins":[]}', 'plugins', /must be a non-empty list/],
    ['{"name":"a/b","plugins":[{"type":"sbr"}]}', 'name', /must be a network name/],
  ])('%s is refused with SWY_ERR_CONFIG_INVALID naming the file and field %s', (text, field, message) => {
    const e = configErrorOf(() => parseNetConf('/etc/switchyard/net.d/10-x.conf', text));
    expect(e.message).toMatch(/^\/etc\/switchyard\/net\.d\/10-x\.conf: /);
    expect(e.message).toMatch(message);
    expect(e.details).toEqual({ file: '/etc/switchyard/net.d/10-x.conf', ...(field ? { field } : {}) });
  });
});

describe('the standard keys a CNI config may carry', () => {
  test('are accepted, and the ones Switchyard does not apply are named in warnings saying what happens instead', () => {
    const warnings: string[] = [];
    const spec = translateNetConf(
      'w.conf',
      {
        cniVersion: '1.0.0',
        name: 'w',
        type: 'bridge',
        forceAddress: true,
        macspoofchk: true,
        capabilities: { portMappings: true },
        dns: { nameservers: ['10.1.0.1'] },
        runtimeConfig: { portMappings: [] },
        disableCheck: true,
        ipam: { type: 'host-local', subnet: '10.1.0.0/24', resolvConf: '/etc/resolv.conf', dataDir: '/var/lib/cni/networks' },
      },
      warnings,
    );
    expect(spec.options).toEqual({ antiSpoof: true, isDefaultGateway: false, isGateway: false });
    expect(warnings).toEqual([
      expect.stringMatching(/^w\.conf: "ipam\.resolvConf" is not applied/),
      expect.stringMatching(/^w\.conf: "ipam\.dataDir" is not applied/),
      expect.stringMatching(/^w\.conf: "forceAddress" is not applied: /),
      expect.stringMatching(/^w\.conf: "dns" is not applied: .*--dns/),
      expect.stringMatching(/^w\.conf: "runtimeConfig" is not applied: .*-p/),
    ]);
  });

  test('a conflist as Podman writes it (bridge + portmap + firewall + tuning) is a native bridge network', () => {
    const warnings: string[] = [];
    const spec = parseNetConf('87-podman.conflist', JSON.stringify(PODMAN_CONFLIST), warnings);
    expect(spec).toMatchObject({ name: 'podman', driver: 'bridge', options: { bridge: 'cni-podman0', isGateway: true, ipMasq: true, hairpinMode: true, isDefaultGateway: true } });
    expect(spec.ipam?.ipv4).toEqual([{ subnet: '10.88.0.0/16', gateway: '10.88.0.1' }]);
    expect(warnings).toEqual([]);
  });
});

describe('net dir loading', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'swy-netd-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const put = (file: string, name: string, subnet = '10.9.0.0/24') => writeFileSync(join(dir, file), JSON.stringify({ name, type: 'bridge', ipam: { subnet } }));

  test('reads *.conf, *.conflist and *.json in lexicographic (byte) order and skips other files', async () => {
    put('b.json', 'beta');
    writeFileSync(join(dir, '15-list.conflist'), JSON.stringify({ name: 'listed', plugins: [{ type: 'bridge', ipam: { subnet: '10.15.0.0/24' } }, { type: 'portmap' }] }));
    put('10-z.conf', 'zulu');
    put('2-a.conf', 'alpha');
    put('notes.txt', 'ignored');
    put('.hidden.conf', 'hidden');
    const d = await loadNetDir(dir);
    expect(d.declarations.map((x) => x.name)).toEqual(['zulu', 'listed', 'alpha', 'beta']);
  });

  test('a bad file is an error for the network it names only; a file naming none is listed as broken', async () => {
    put('10-good.conf', 'good');
    writeFileSync(join(dir, '20-bad.conf'), JSON.stringify({ name: 'bad', type: 'bridge', ipam: { subnet: 'nonsense' } }));
    writeFileSync(join(dir, '30-junk.conflist'), '{ not json');
    const d = await loadNetDir(dir);
    expect(d.declarations.map((x) => [x.name, x.spec !== undefined, x.error?.code])).toEqual([
      ['good', true, undefined],
      ['bad', false, 'SWY_ERR_CONFIG_INVALID'],
    ]);
    expect(d.broken).toEqual([{ file: join(dir, '30-junk.conflist'), error: expect.objectContaining({ code: 'SWY_ERR_CONFIG_INVALID', message: expect.stringMatching(/is not valid JSON/) }) }]);
  });

  test('a name declared twice keeps the first file, as rkt does', async () => {
    put('10-one.conf', 'lan', '10.1.0.0/24');
    put('20-two.conf', 'lan', '10.2.0.0/24');
    const d = await loadNetDir(dir);
    expect(d.declarations).toHaveLength(1);
    expect(d.declarations[0]?.spec?.ipam?.ipv4?.[0]?.subnet).toBe('10.1.0.0/24');
    expect(d.ignored).toEqual([{ name: 'lan', file: join(dir, '20-two.conf'), keptFile: join(dir, '10-one.conf') }]);
  });

  test('a missing net dir declares nothing', async () => {
    expect((await loadNetDir(join(dir, 'absent'))).declarations).toEqual([]);
  });
});

describe('net.d through the CLI', () => {
  test('a bad file fails only the commands that use its network (exit 2 naming the file and field); network ls and other networks work', async () => {
    const h = harness();
    try {
      h.netConf('30-bad.conf', { name: 'bad', type: 'bridge', ipam: { subnet: 'nonsense' } });
      h.netConf('31-good.conf', { name: 'good', type: 'bridge', ipam: { subnet: '10.31.0.0/24' } });
      const ls = await h.run('network', 'ls', '--json');
      expect(ls.code).toBe(0);
      expect(ls.json().declared).toEqual([
        { name: 'bad', file: join(h.netDir, '30-bad.conf'), error: { code: 'SWY_ERR_CONFIG_INVALID', message: expect.stringContaining('field "ipam.subnet" must be a CIDR') } },
        { name: 'good', file: join(h.netDir, '31-good.conf'), driver: 'bridge' },
      ]);
      await h.run('sandbox', 'create', 'web1');
      const r = await h.run('connect', 'bad', 'web1', '--json');
      expect(r.code).toBe(2);
      expect(r.json().error).toMatchObject({
        code: 'SWY_ERR_CONFIG_INVALID',
        message: `${join(h.netDir, '30-bad.conf')}: field "ipam.subnet" must be a CIDR such as 10.1.0.0/24, not "nonsense"`,
        details: { file: join(h.netDir, '30-bad.conf'), field: 'ipam.subnet' },
      });
      expect((await h.run('connect', 'good', 'web1')).code).toBe(0);
    } finally {
      h.dispose();
    }
  });

  test('keys a file carries but Switchyard does not apply are warned about on first use, not refused', async () => {
    const h = harness();
    try {
      h.netConf('40-dns.conf', { name: 'withdns', type: 'bridge', dns: { nameservers: ['10.41.0.1'] }, ipam: { subnet: '10.41.0.0/24' } });
      await h.run('sandbox', 'create', 'web1');
      const r = await h.run('connect', 'withdns', 'web1');
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`warning: ${join(h.netDir, '40-dns.conf')}: "dns" is not applied`);
    } finally {
      h.dispose();
    }
  });

  test('a value the driver refuses is reported against the net.d file, and nothing is created', async () => {
    const h = harness();
    try {
      h.netConf('40-lan.conf', { name: 'lan', type: 'bridge', mtu: 'huge', ipam: { subnet: '10.40.0.0/24' } });
      await h.run('sandbox', 'create', 'web1');
      const r = await h.run('connect', 'lan', 'web1');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error: ${join(h.netDir, '40-lan.conf')}: The bridge driver's option "mtu" cannot be "huge"`);
      expect(r.stderr).toContain('code: SWY_ERR_CONFIG_INVALID');
      expect((await h.run('network', 'ls', '--json')).json().networks).toEqual([]);
    } finally {
      h.dispose();
    }
  });
});
