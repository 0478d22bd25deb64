import { spawnSync } from 'node:child_process';
import { ping, requireUml } from '@switchyard/core/testing';
import { detectNftablesFirewall, kernelLacksNftables } from '@switchyard/firewall-nftables';
import { resultProblems } from '../protocol/result.js';
import { CniLab, netns, sh } from './cni-harness.js';

// switchyard-ipvlan exec'd as a runtime does; ipvlan exists only in the user-mode Linux guest (this host's kernel lacks it).
let lab: CniLab;
const MASTER = 'cniu-d0';

beforeAll(() => {
  requireUml();
  sh('ip', 'link', 'add', MASTER, 'type', 'dummy');
  sh('ip', 'link', 'set', MASTER, 'up');
  lab = new CniLab();
});

afterAll(() => {
  if (process.env.SWITCHYARD_UML !== '1') return;
  for (const ns of ['cniu1', 'cniu2']) spawnSync('ip', ['netns', 'del', ns]);
  lab.dispose(['cniuv']);
  spawnSync('ip', ['link', 'del', MASTER]);
});

describe('switchyard-ipvlan on a kernel that has ipvlan', () => {
  it('this guest kernel has no nf_tables, and the firewall detection says so instead of letting libnftables exit the process', () => {
    expect(kernelLacksNftables()).toBe(true);
    expect(detectNftablesFirewall()).toBeUndefined();
  });

  it('takes an ipvlan config with only type changed: two containers on one master reach each other; DEL leaves nothing', async () => {
    const conf = { cniVersion: '1.0.0', name: 'cniuv', type: 'switchyard-ipvlan', master: MASTER, mode: 'l2', ipam: { type: 'host-local', subnet: '10.121.0.0/24' } };
    const spaces = [netns('cniu1'), netns('cniu2')];
    const adds = spaces.map((ns, i) => lab.cni('switchyard-ipvlan', 'ADD', conf, { id: `u${i}`, netns: ns.path, ifname: 'eth0' }));
    expect(adds.map((a) => [a.status, a.stderr])).toEqual([
      [0, ''],
      [0, ''],
    ]);
    for (const a of adds) expect(resultProblems(a.json, '1.0.0')).toEqual([]);
    expect(sh('ip', '-n', 'cniu1', '-d', 'link', 'show', 'eth0')).toContain('ipvlan');
    const second = (adds[1]?.json?.ips as Array<{ address: string }>)[0]?.address.split('/')[0] as string;
    expect(await ping(spaces[0]!.ref, second)).toBe(true);
    for (const [i, ns] of spaces.entries()) expect(lab.cni('switchyard-ipvlan', 'DEL', conf, { id: `u${i}`, netns: ns.path, ifname: 'eth0' }).status).toBe(0);
    expect(lab.leftovers('cniuv')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
    expect(sh('ip', '-n', 'cniu1', '-o', 'link')).not.toContain('eth0');
  });
});
