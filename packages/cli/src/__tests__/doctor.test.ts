import type { DoctorProbes } from '../doctor/probes.js';
import { harness, tableRows, type Harness } from './harness.js';

const present = new Set(['ip', 'nsenter', 'unshare', 'ping']);
const probes = (over: Partial<DoctorProbes> = {}): Partial<DoctorProbes> => ({
  which: (tool) => (present.has(tool) ? `/usr/bin/${tool}` : undefined),
  cniPlugins: () => ['bridge', 'host-local', 'ptp'],
  moduleLoading: () => false,
  privileges: () => ({ uid: 0, netAdmin: true, sysAdmin: true }),
  dirStatus: () => ({ exists: true, writable: true }),
  sysctl: (key) => (key === 'net.ipv4.ip_forward' ? '1' : '0'),
  ...over,
});

describe('switchyard doctor', () => {
  let h: Harness;
  afterEach(() => h.dispose());

  // This build machine's kernel: no ipvlan, 802.1Q or dummy, and no module loading.
  const lacking = { features: { ipvlan: false, vlan: false, dummy: false } };

  test('reports kernel features per driver, with why ipvlan, vlan and dummy are missing', async () => {
    h = harness({ doctor: probes() }, lacking);
    const r = await h.run('doctor');
    expect(r.code).toBe(0);
    const section = r.stdout.split('\n\n')[1] ?? '';
    const rows = tableRows(section.split('\n').slice(1).join('\n'));
    expect(rows[0]).toEqual(['FEATURE', 'SUPPORTED', 'USED BY', 'NOTE']);
    const byFeature = Object.fromEntries(rows.slice(1).map((row) => [row[0], row]));
    expect(byFeature.bridge?.[1]).toBe('✓ yes');
    expect(byFeature.veth?.[1]).toBe('✓ yes');
    expect(byFeature.macvlan?.[1]).toBe('✓ yes');
    expect(byFeature.ipvlan?.slice(1)).toEqual(['✗ no', 'ipvlan driver', "kernel built without ipvlan support (no module loading); Switchyard's ipvlan tests run under user-mode Linux instead"]);
    expect(byFeature.vlan?.[3]).toContain('kernel built without 802.1Q vlan support (no module loading)');
    expect(byFeature.dummy?.[1]).toBe('✗ no');
    expect(r.stderr).toContain('switchyard: probing kernel features in throwaway namespaces');
  });

  test('lists tools with what to install, CNI plugins, privileges and the state dir', async () => {
    h = harness({ doctor: probes() });
    const r = await h.run('doctor');
    expect(r.stdout).toMatch(/ip\s+✓ \/usr\/bin\/ip\s+every kernel change/);
    expect(r.stdout).toMatch(/nft\s+✗ missing\s+firewall backend \(libnftables.so.1 comes with it\)\s+apt-get install nftables/);
    // The harness's firewall (in memory) and the forwarding the host reports.
    expect(r.stdout).toContain('✓ backend: memory');
    expect(r.stdout).toContain('forwarding: IPv4 on, IPv6 off');
    expect(r.stdout).toContain('CNI plugins in /usr/lib/cni: ✓ bridge, host-local, ptp');
    expect(r.stdout).toContain('uid 0, CAP_NET_ADMIN yes, CAP_SYS_ADMIN yes');
    expect(r.stdout).toContain(`✓ ${h.stateDir}: writable`);
    expect(r.stdout).toContain('✓ ready');
  });

  test('checks net.d: each network usable or not, what is not applied, files that declare nothing; none of it blocks', async () => {
    h = harness({ doctor: probes() });
    h.netConf('10-good.conflist', { name: 'good', plugins: [{ type: 'bridge', dns: { nameservers: ['10.9.0.1'] }, ipam: { subnet: '10.9.0.0/24' } }, { type: 'portmap' }] });
    h.netConf('20-bad.conf', { name: 'bad', type: 'bridge', ipam: { subnet: 'nonsense' } });
    h.netConf('30-junk.conf', 'not json');
    const r = await h.run('doctor');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`✓ good (bridge, ${h.netDir}/10-good.conflist)`);
    expect(r.stdout).toMatch(/note: .*"dns" is not applied/);
    expect(r.stdout).toContain('✗ bad: ');
    expect(r.stdout).toMatch(/✗ .*30-junk\.conf: is not valid JSON/);
    const json = (await h.run('doctor', '--json')).json().doctor.netd;
    expect(json.networks.map((n: { name: string; error?: string }) => [n.name, n.error === undefined])).toEqual([
      ['good', true],
      ['bad', false],
    ]);
    expect(json.broken).toHaveLength(1);
  });

  test('says when there is no firewall backend, and what that costs', async () => {
    h = harness({ doctor: probes(), firewall: () => undefined });
    const r = await h.run('doctor');
    expect(r.stdout).toContain('✗ backend: none (install nftables): no masquerade, no published ports, no isolation rules');
    expect((await h.run('doctor', '--json')).json().doctor.firewall).toEqual({ backend: 'none', ipv4Forwarding: '1', ipv6Forwarding: '0' });
  });

  test('reports every feature as supported on a kernel that has them all, with no note', async () => {
    h = harness({ doctor: probes() });
    const d = (await h.run('doctor', '--json')).json().doctor;
    const kernel = d.kernel as Array<{ feature: string; supported: boolean; note?: string }>;
    expect(kernel.map((k) => [k.feature, k.supported])).toEqual(
      expect.arrayContaining([
        ['ipvlan', true],
        ['vlan', true],
        ['dummy', true],
        ['macvlan', true],
      ]),
    );
    expect(kernel.filter((k) => !k.supported)).toEqual([]);
  });

  test('--json gives the same findings as data', async () => {
    h = harness({ doctor: probes() }, lacking);
    const r = await h.run('doctor', '--json');
    const d = r.json().doctor;
    expect(d.ok).toBe(true);
    expect(d.kernel.find((k: { feature: string }) => k.feature === 'ipvlan')).toMatchObject({ supported: false, note: expect.stringContaining('no module loading') });
    expect(d.plugins.map((p: { kind: string; type: string }) => `${p.kind}:${p.type}`)).toEqual(expect.arrayContaining(['driver:bridge', 'driver:veth', 'driver:macvlan', 'driver:ipvlan', 'ipam:host-local']));
    expect(d.tools.find((t: { tool: string }) => t.tool === 'nft')).toEqual({ tool: 'nft', path: null, neededFor: 'firewall backend (libnftables.so.1 comes with it)', essential: false, install: 'apt-get install nftables' });
    expect(d.privileges).toEqual({ uid: 0, netAdmin: true, sysAdmin: true, mayChangeKernel: true });
  });

  test('without privileges it does not probe, and says how to get them', async () => {
    h = harness({ doctor: probes({ privileges: () => ({ uid: 1000, netAdmin: false, sysAdmin: false }) }) });
    const r = await h.run('doctor');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/bridge\s+\? unknown\s+bridge driver\s+not probed: needs root or CAP_NET_ADMIN/);
    expect(r.stdout).toContain('✗ may not change the kernel: run as root or with CAP_NET_ADMIN, or try privately with `unshare -rn`');
  });

  test('a missing ip command is an essential problem: exit 5 with SWY_ERR_TOOL_MISSING', async () => {
    h = harness({ doctor: probes({ which: (t) => (t === 'ip' ? undefined : `/usr/bin/${t}`) }) });
    const r = await h.run('doctor');
    expect(r.code).toBe(5);
    expect(r.stdout).toContain('✗ 1 problem(s): ip is missing (apt-get install iproute2)');
    expect(r.stderr).toContain('code: SWY_ERR_TOOL_MISSING');
    const j = await h.run('doctor', '--json');
    expect(j.code).toBe(5);
    expect(j.json().doctor).toMatchObject({ ok: false, problems: ['ip is missing (apt-get install iproute2)'] });
  });
});
