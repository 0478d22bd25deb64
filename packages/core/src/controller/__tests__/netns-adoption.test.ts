import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestSwitchyard, type TestSwitchyard } from '../../testing/test-switchyard.js';
import { fixtureDriver } from './fixture-driver.js';
import { netnsIdentity } from '../../sandbox/netns-identity.js';

describe('adopting an existing namespace by path or PID', () => {
  let sy: TestSwitchyard;
  let dir: string;
  beforeEach(async () => {
    sy = await createTestSwitchyard([fixtureDriver()]);
    await sy.controller.createNetwork({ name: 'web', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.9.0.0/24' }] } });
    dir = mkdtempSync(join(tmpdir(), 'swy-adopt-'));
  });
  afterEach(async () => {
    await sy.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['--netns /proc/self/ns/net', { netnsPath: '/proc/self/ns/net' }],
    ['--pid of this very process', { pid: process.pid }],
  ])('refuses %s with SWY_ERR_INVALID_OPTION, pointing at --host, and creates nothing', async (_what, spec) => {
    const kernel = sy.fake.snapshot();
    await expect(sy.controller.createSandbox({ name: 'self', ...spec })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION', hint: expect.stringContaining('--host') });
    expect(await sy.controller.listSandboxes()).toEqual([]);
    expect(sy.fake.snapshot()).toEqual(kernel);
  });

  it('refuses --pid 1 (the host’s namespace): as PID 1’s where this process may read it, else as a namespace it cannot open', async () => {
    // Some containers hide /proc/1/ns/net even from root; then the namespace cannot be opened at all.
    const readable = netnsIdentity('/proc/1/ns/net') !== undefined;
    const err = await sy.controller.createSandbox({ name: 'init', pid: 1 }).catch((e: unknown) => e);
    const expected = readable ? { code: 'SWY_ERR_INVALID_OPTION', message: "/proc/1/ns/net is PID 1's (the host's) network namespace" } : { code: 'SWY_ERR_PERMISSION_DENIED', message: 'cannot be opened' };
    expect(err).toMatchObject({ code: expected.code, message: expect.stringContaining(expected.message) as string });
    expect(await sy.controller.listSandboxes()).toEqual([]);
  });

  it('records the namespace’s identity, and once its path leads to another namespace refuses to connect and never touches the stranger on removal', async () => {
    // A namespace file as a bind mount or /proc/<pid>/ns/net would be; replacing it stands for a reused PID.
    const path = join(dir, 'ns');
    writeFileSync(path, '');
    sy.fake.addPathNetns(path);
    const sb = await sy.controller.createSandbox({ name: 'adopted', netnsPath: path });
    expect(sb.netnsIdentity).toEqual({ dev: expect.any(Number), ino: expect.any(Number) });
    await sy.controller.connect('web', 'adopted');

    writeFileSync(join(dir, 'other'), '');
    renameSync(join(dir, 'other'), path);
    await expect(sy.controller.connect('web', 'adopted', { ifname: 'eth1' })).rejects.toMatchObject({ code: 'SWY_ERR_NETNS_NOT_FOUND' });
    const marks = sy.fake.history.length;
    await sy.controller.deleteSandbox('adopted');
    const inStranger = sy.fake.history.slice(marks).filter((s) => s.ns.kind === 'path');
    expect(inStranger).toEqual([]);
    expect(sy.ipam.allocated()).toEqual([]);
  });
});
