import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestSwitchyard, type TestSwitchyard } from '../../testing/test-switchyard.js';
import { fixtureDriver } from './fixture-driver.js';
import type { SandboxRecord } from '../../model/types.js';

// Hostnames, aliases, extra hosts and resolver settings end up in the sandbox's hosts and resolv.conf
// files, one entry a line: a name with a newline in it must never write entries of its own.
const INJECTION = 'evil\n6.6.6.6 example.com';

describe('names that go into a sandbox’s hosts and resolv.conf files', () => {
  let sy: TestSwitchyard;
  beforeEach(async () => {
    sy = await createTestSwitchyard([fixtureDriver()]);
    await sy.controller.createNetwork({ name: 'web', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.9.0.0/24' }] } });
  });
  afterEach(() => sy.dispose());

  const hostsOf = (sb: SandboxRecord) => readFileSync(join(sb.filesDir ?? '/nonexistent', 'hosts'), 'utf8');

  it.each([
    ['a newline', INJECTION],
    ['a space and "!"', 'bad host!'],
    ['an underscore', 'under_score'],
    ['a leading hyphen', '-lead'],
    ['a label of 64 characters', `${'a'.repeat(64)}.example`],
    ['an empty label', 'a..b'],
  ])('refuses a hostname with %s with SWY_ERR_INVALID_NAME, creating no sandbox and no namespace', async (_what, hostname) => {
    const kernel = sy.fake.snapshot();
    await expect(sy.controller.createSandbox({ name: 's1', hostname })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_NAME', hint: expect.stringContaining('RFC 1123') });
    expect(await sy.controller.listSandboxes()).toEqual([]);
    expect(sy.fake.snapshot()).toEqual(kernel);
  });

  it('refuses an alias with a newline with SWY_ERR_INVALID_NAME: no address taken, the hosts file unchanged', async () => {
    const sb = await sy.controller.createSandbox({ name: 's1' });
    const hosts = hostsOf(sb);
    await expect(sy.controller.connect('web', 's1', { aliases: ['api', INJECTION] })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_NAME' });
    expect(sy.ipam.allocated()).toEqual([]);
    expect(hostsOf(sb)).toBe(hosts);
    expect((await sy.controller.inspectSandbox('s1')).endpoints).toEqual([]);
  });

  it('refuses extra hosts, DNS search domains and resolver options that are not what they claim, creating nothing', async () => {
    const bad = [
      { extraHosts: [{ name: INJECTION, address: '10.0.0.1' }] },
      { extraHosts: [{ name: 'db', address: '10.0.0.1\n6.6.6.6 x' }] },
      { dns: { search: [INJECTION] } },
      { dns: { options: ['ndots:1\nnameserver 6.6.6.6'] } },
      { dns: { nameservers: ['6.6.6.6\nsearch evil'] } },
    ];
    for (const spec of bad) {
      const err = await sy.controller.createSandbox({ name: 's1', ...spec }).catch((e: unknown) => e);
      expect({ spec, kind: (err as { kind?: string }).kind }).toEqual({ spec, kind: 'InvalidArgument' });
    }
    expect(await sy.controller.listSandboxes()).toEqual([]);
  });

  it('writes valid names as given: hostname, aliases and extra hosts, one entry a line', async () => {
    const sb = await sy.controller.createSandbox({ name: 's1', hostname: 'app-1.example.org', extraHosts: [{ name: 'db.local', address: '10.0.0.7' }] });
    const ep = await sy.controller.connect('web', 's1', { aliases: ['api', 'api-v2'] });
    const hosts = hostsOf(sb).split('\n');
    expect(hosts).toContain(`${ep.ipv4?.split('/')[0]}\tapp-1.example.org api api-v2`);
    expect(hosts).toContain('10.0.0.7\tdb.local');
  });

  it('gives a sandbox whose name is no host name (an underscore) its short id as hostname, as Docker does', async () => {
    const sb = await sy.controller.createSandbox({ name: 'my_app' });
    expect(sb.hostname).toBe(sb.id.slice(0, 12));
    expect((await sy.controller.createSandbox({ name: 'my-app' })).hostname).toBe('my-app');
  });
});
