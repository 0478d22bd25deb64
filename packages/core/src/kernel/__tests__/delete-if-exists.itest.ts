import { IproutesExecutor } from '../iproute2-executor.js';
import { NetlinkExecutor } from '../netlink/netlink-executor.js';
import { FakeKernel } from '../../testing/fake-kernel.js';
import { kernelSnapshot, requireLab } from '../../testing/lab.js';
import { HOST_NS, type Kernel, type KernelStep } from '../../spi/kernel.js';

const executors: Array<[string, () => Kernel]> = [
  ['iproute2', () => new IproutesExecutor()],
  ['netlink', () => new NetlinkExecutor()],
  ['FakeKernel', () => new FakeKernel()],
];

describe.each(executors)('deletes marked ifExists (%s)', (_name, make) => {
  const host = (op: KernelStep['op']): KernelStep => ({ ns: HOST_NS, op });
  let kernel: Kernel;
  beforeAll(() => {
    requireLab();
    kernel = make();
  });
  afterAll(async () => {
    await kernel.apply([host({ op: 'link.del', name: 'ie0', ifExists: true })]);
  });

  it('succeed when the route, address or link is already gone, and the rest of the plan still runs', async () => {
    await kernel.apply([host({ op: 'link.add', kind: 'bridge', name: 'ie0' }), host({ op: 'link.set', name: 'ie0', up: true })]);
    await kernel.apply([
      host({ op: 'route.del', dst: '10.123.0.0/24', dev: 'ie0', ifExists: true }),
      host({ op: 'addr.del', dev: 'ie0', cidr: '10.123.0.1/24', ifExists: true }),
      host({ op: 'link.del', name: 'ie-none', ifExists: true }),
      host({ op: 'addr.add', dev: 'ie0', cidr: '10.124.0.1/24' }),
    ]);
    expect((await kernel.listAddrs(HOST_NS)).filter((a) => a.dev === 'ie0').map((a) => a.cidr)).toEqual(['10.124.0.1/24']);
  });

  it('without ifExists, a missing route is still an error and the plan rolls back', async () => {
    // FakeKernel models its own namespaces, not the lab's: compare its picture for it.
    const state = () => (kernel instanceof FakeKernel ? Promise.resolve(kernel.snapshot()) : kernelSnapshot());
    const before = await state();
    await expect(kernel.apply([host({ op: 'addr.add', dev: 'ie0', cidr: '10.125.0.1/24' }), host({ op: 'route.del', dst: '10.126.0.0/24', dev: 'ie0' })])).rejects.toMatchObject({ name: 'SwitchyardError' });
    expect(await state()).toEqual(before);
    expect((await kernel.listAddrs(HOST_NS)).filter((a) => a.dev === 'ie0').map((a) => a.cidr)).toEqual(['10.124.0.1/24']);
  });

  it('a link.set marked ifExists and a group delete of an empty group succeed; a group delete takes every member and its veth peers', async () => {
    await kernel.apply([
      host({ op: 'link.set', name: 'ie-none', up: false, ifExists: true }),
      host({ op: 'group.del', group: 4343 }),
      host({ op: 'link.add', kind: 'veth', name: 'ie1', peer: { name: 'ie1p' } }),
      host({ op: 'link.add', kind: 'veth', name: 'ie2', peer: { name: 'ie2p' } }),
      host({ op: 'link.set', name: 'ie1', group: 4343 }),
      host({ op: 'link.set', name: 'ie2', group: 4343, up: true }),
    ]);
    expect(
      (await kernel.listLinks(HOST_NS))
        .filter((l) => l.group === 4343)
        .map((l) => l.name)
        .sort(),
    ).toEqual(['ie1', 'ie2']);
    await kernel.apply([host({ op: 'group.del', group: 4343 })]);
    expect((await kernel.listLinks(HOST_NS)).map((l) => l.name).filter((n) => n.startsWith('ie') && n !== 'ie0')).toEqual([]);
  });

  it('refuses to delete group 0, the group every link starts in', async () => {
    await expect(kernel.apply([host({ op: 'group.del', group: 0 })])).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
    expect((await kernel.listLinks(HOST_NS)).map((l) => l.name)).toContain('ie0');
  });
});
