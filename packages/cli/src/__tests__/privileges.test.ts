import { hasCapability, mayChangeKernel } from '../privileges.js';
import { harness, type Harness } from './harness.js';

describe('privileges', () => {
  test('CAP_NET_ADMIN is read from the CapEff bitmask', () => {
    expect(hasCapability('Name:\tx\nCapEff:\t000001fffeffffff\n', 12)).toBe(true);
    expect(hasCapability('CapEff:\t0000000000001000\n', 12)).toBe(true);
    expect(hasCapability('CapEff:\t0000000000000000\n', 12)).toBe(false);
    expect(hasCapability('no caps line', 12)).toBe(false);
  });

  test('uid 0 or CAP_NET_ADMIN may change the kernel', () => {
    expect(mayChangeKernel({ uid: 0, netAdmin: false, sysAdmin: false })).toBe(true);
    expect(mayChangeKernel({ uid: 1000, netAdmin: true, sysAdmin: false })).toBe(true);
    expect(mayChangeKernel({ uid: 1000, netAdmin: false, sysAdmin: true })).toBe(false);
  });

  describe('without privileges', () => {
    let h: Harness;
    beforeEach(async () => {
      h = harness();
      await h.run('network', 'create', 'frontend', '--subnet', '10.88.0.0/24');
      await h.run('sandbox', 'create', 'web1');
      h.deps.hasPrivileges = () => false;
    });
    afterEach(() => h.dispose());

    test.each([
      [['network', 'create', 'n2']],
      [['network', 'rm', 'frontend']],
      [['sandbox', 'create', 's2']],
      [['sandbox', 'rm', 'web1']],
      [['connect', 'frontend', 'web1']],
      [['disconnect', 'frontend', 'web1']],
      [['run', '--net=frontend', '--', 'true']],
      [['demo']],
    ])('%j is refused with SWY_ERR_PERMISSION_DENIED (exit 5; run: 125) and changes nothing', async (argv) => {
      const before = h.fake.snapshot();
      const r = await h.run(...argv);
      expect(r.code).toBe(argv[0] === 'run' ? 125 : 5);
      expect(r.stderr).toMatch(/^error: .* changes the kernel's network configuration, which needs root or CAP_NET_ADMIN\n/);
      expect(r.stderr).toContain('hint: Run as root (sudo) or with CAP_NET_ADMIN, or try it privately inside a throwaway namespace with `unshare -rn`.');
      expect(r.stderr).toContain('code: SWY_ERR_PERMISSION_DENIED');
      expect(h.fake.snapshot()).toEqual(before);
    });

    test('ls and inspect still work: they only read the state dir', async () => {
      expect((await h.run('network', 'ls')).code).toBe(0);
      expect((await h.run('sandbox', 'ls')).code).toBe(0);
      expect((await h.run('network', 'inspect', 'frontend')).code).toBe(0);
      expect((await h.run('sandbox', 'inspect', 'web1', '--json')).json().sandbox.name).toBe('web1');
    });
  });
});
