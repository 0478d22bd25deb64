import { HOST_NS } from '../../spi/kernel.js';
import { createLabSwitchyard, type LabSwitchyard } from '../../testing/lab-switchyard.js';
import { execIn, requireLab, uniqueName } from '../../testing/lab.js';
import { memoryIpamManifest } from '../../testing/memory-ipam.js';
import { fixtureDriver } from './fixture-driver.js';

// A sandbox adopted by path, whose path later leads to another namespace (as /proc/<pid>/ns/net does
// when the PID is reused): Switchyard must refuse to connect it, and its removal must not touch the stranger.
describe('an adopted namespace replaced under the same path, on the real kernel', () => {
  let sy: LabSwitchyard;
  const ns = uniqueName('adp');
  const stranger = uniqueName('adq');
  beforeAll(async () => {
    requireLab();
    sy = await createLabSwitchyard({ drivers: [fixtureDriver()], ipams: [memoryIpamManifest()] });
    await sy.controller.createNetwork({ name: 'n', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.131.0.0/24' }] } });
  });
  afterAll(async () => {
    await sy.dispose();
    await execIn(HOST_NS, ['sh', '-c', `umount /run/netns/${ns} 2>/dev/null; rm -f /run/netns/${ns}; ip netns del ${stranger} 2>/dev/null; true`]);
  });

  it('refuses to connect it with SWY_ERR_NETNS_NOT_FOUND and leaves the new namespace’s eth0 alone on removal', async () => {
    await execIn(HOST_NS, ['ip', 'netns', 'add', ns]);
    await sy.controller.createSandbox({ name: 'adopted', netnsPath: `/run/netns/${ns}` });
    await sy.controller.connect('n', 'adopted');
    // The process exits and another takes its place: a new namespace, with an eth0 of its own, at the same
    // path. (Made while the old one lives: the kernel reuses a destroyed namespace's inode number.)
    await execIn(HOST_NS, ['ip', 'netns', 'add', stranger]);
    await execIn({ kind: 'named', name: stranger }, ['ip', 'link', 'add', 'eth0', 'type', 'bridge']);
    await execIn(HOST_NS, ['ip', 'netns', 'del', ns]);
    await execIn(HOST_NS, ['sh', '-c', `touch /run/netns/${ns} && mount --bind /run/netns/${stranger} /run/netns/${ns}`]);
    await sy.controller.createNetwork({ name: 'n2', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.132.0.0/24' }] } });
    await expect(sy.controller.connect('n2', 'adopted')).rejects.toMatchObject({ code: 'SWY_ERR_NETNS_NOT_FOUND' });
    await sy.controller.deleteSandbox('adopted');
    const links = (await execIn({ kind: 'named', name: ns }, ['ip', '-br', 'link'])).stdout;
    expect(
      links
        .split('\n')
        .map((l) => l.split(/\s+/)[0])
        .filter(Boolean)
        .sort(),
    ).toEqual(['eth0', 'lo']);
  });
});
