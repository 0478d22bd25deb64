import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harness, type Harness } from './harness.js';

// `switchyard cni add|del|check|gc|status`: the refusals that come before any plugin changes anything.
describe('switchyard cni add|del|check|gc|status', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(() => h.dispose());

  const conf = { cniVersion: '1.0.0', name: 'mynet', type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', subnet: '10.22.0.0/16' } };

  test('a CONF that is neither a file nor a net.d network is SWY_ERR_NETWORK_NOT_FOUND naming the net dir', async () => {
    const r = await h.run('cni', 'add', 'nosuch', '/run/netns/x', '--json');
    expect(r.code).not.toBe(0);
    expect(r.json().error).toMatchObject({ code: 'SWY_ERR_NETWORK_NOT_FOUND', message: `No CNI config named "nosuch" in ${h.netDir}` });
  });

  test('a missing config file is SWY_ERR_CONFIG_INVALID naming it', async () => {
    const r = await h.run('cni', 'status', join(h.netDir, 'absent.conflist'), '--json');
    expect(r.json().error).toMatchObject({ code: 'SWY_ERR_CONFIG_INVALID', message: expect.stringContaining('absent.conflist') });
  });

  test('add without a sandbox, a netns path that does not exist, a bad --keep, bad CNI_ARGS or capability arguments: coded refusals', async () => {
    h.netConf('10-mynet.conf', conf);
    expect((await h.run('cni', 'add', 'mynet', '/run/netns/does-not-exist', '--json')).json().error.code).toBe('SWY_ERR_NETNS_NOT_FOUND');
    expect((await h.run('cni', 'gc', 'mynet', '--keep', 'nope', '--json')).json().error).toMatchObject({ code: 'SWY_ERR_INVALID_OPTION', message: expect.stringContaining('CONTAINER_ID/IFNAME') });
    // A stand-in for a container's netns path: a file that exists (no plugin runs: the refusals come first).
    const ns = join(h.stateDir, '..', 'ns-file');
    writeFileSync(ns, '');
    expect((await h.run('cni', 'add', 'mynet', ns, '--args', 'novalue', '--json')).json().error).toMatchObject({ code: 'SWY_ERR_INVALID_OPTION', message: expect.stringContaining('KEY=VALUE') });
    expect((await h.run('cni', 'add', 'mynet', ns, '--cap-args', '[1]', '--json')).json().error).toMatchObject({ code: 'SWY_ERR_INVALID_OPTION', message: 'capability arguments must be a JSON object' });
  });

  test('refuses the host namespace (this process s, under any path) as a container netns', async () => {
    h.netConf('10-mynet.conf', conf);
    for (const path of ['/proc/self/ns/net', `/proc/${process.pid}/ns/net`]) {
      expect((await h.run('cni', 'add', 'mynet', path, '--json')).json().error).toMatchObject({ code: 'SWY_ERR_INVALID_OPTION', message: expect.stringContaining(`${path} is this process's own network namespace`) });
    }
  });
});
