import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Switchyard } from '@switchyard/core';
import { MemoryFirewall, createTestSwitchyard, type TestSwitchyard } from '@switchyard/core/testing';
import bridgeDriver from '@switchyard/driver-bridge';
import { sandboxNameFor } from '../attachment.js';
import { CNI_CONTAINER_LABEL, CNI_NETWORK_LABEL, switchyardPlugin } from '../plugin.js';
import { resultProblems } from '../protocol/result.js';
import { runPlugin } from '../protocol/run.js';
import { SUPPORTED_VERSIONS, type CniVersion } from '../protocol/versions.js';

/**
 * The shared plugin handlers driven as a runtime drives a plugin (environment and stdin in, stdout and
 * exit code out), on FakeKernel and a memory firewall: the logic; the real-kernel runs come with the executables.
 */
describe('a Switchyard CNI plugin (bridge), through the protocol', () => {
  let sy: TestSwitchyard;
  let firewall: MemoryFirewall;
  let dir: string;
  const netns = (id: string) => join(dir, `ns-${id}`);

  beforeEach(async () => {
    firewall = new MemoryFirewall();
    sy = await createTestSwitchyard([bridgeDriver], { firewall });
    dir = mkdtempSync(join(tmpdir(), 'swy-cni-'));
  });
  afterEach(async () => {
    await sy.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  // Each command opens Switchyard and closes it, as an executable does; the test instance stays open.
  const plugin = () =>
    switchyardPlugin({
      driver: 'bridge',
      open: async () => Object.assign(Object.create(sy) as Switchyard, { close: () => sy.settle() }),
      hostInterfaces: (n) => [{ name: typeof n.driverState.bridge === 'string' ? n.driverState.bridge : '?' }],
    });
  const conf = (version: CniVersion = '1.1.0', extra: Record<string, unknown> = {}) => ({
    cniVersion: version,
    name: 'mynet',
    type: 'switchyard-bridge',
    bridge: 'cni0',
    isGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', subnet: '10.22.0.0/16' },
    ...extra,
  });
  const run = async (command: string, id: string, config: object, more: Record<string, string> = {}) => {
    if (command === 'ADD') {
      // The runtime made the container's namespace: a namespace file the fake kernel knows.
      writeFileSync(netns(id), '');
      sy.fake.addPathNetns(netns(id));
    }
    const env = { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns(id), CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...more };
    const out = await runPlugin(plugin(), { env, stdin: JSON.stringify(config) });
    return { ...out, json: out.stdout === '' ? undefined : (JSON.parse(out.stdout) as Record<string, unknown>) };
  };

  it.each(SUPPORTED_VERSIONS)('ADD (cniVersion %s) attaches a sandbox adopting the netns, and answers a valid result in that version', async (version) => {
    const add = await run('ADD', 'c1', conf(version));
    expect(add.exitCode).toBe(0);
    expect(resultProblems(add.json, version)).toEqual([]);
    expect(add.json).toMatchObject({
      cniVersion: version,
      interfaces: [{ name: 'cni0' }, { name: 'eth0', mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/), sandbox: netns('c1') }],
      ips: [{ address: '10.22.0.2/16', gateway: '10.22.0.1', interface: 1 }],
    });
    const sandbox = await sy.controller.inspectSandbox(sandboxNameFor('c1'));
    expect(sandbox).toMatchObject({ netns: { kind: 'path', path: netns('c1') }, labels: { [CNI_CONTAINER_LABEL]: 'c1' } });
    expect(sandbox.endpoints.map((e) => [e.networkName, e.ifname, e.ipv4])).toEqual([['mynet', 'eth0', '10.22.0.2/16']]);
    expect((await sy.controller.inspectNetwork('mynet')).labels).toEqual({ [CNI_NETWORK_LABEL]: 'true' });
  });

  it('publishes runtimeConfig.portMappings through the firewall, and DEL takes them, the address and the sandbox back', async () => {
    const add = await run('ADD', 'c1', conf('1.0.0', { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } }));
    expect(add.exitCode).toBe(0);
    expect([...firewall.endpoints.values()].flatMap((e) => e.ports.map((p) => `${p.hostPort}->${p.containerPort}`))).toEqual(['8080->80']);
    const del = await run('DEL', 'c1', conf('1.0.0'));
    expect(del).toMatchObject({ exitCode: 0, stdout: '' });
    expect(firewall.endpoints.size).toBe(0);
    expect(sy.ipam.allocated()).toEqual([]);
    expect(await sy.controller.listSandboxes()).toEqual([]);
  });

  it('refuses a second ADD of the same attachment, and a port another container holds, leaving nothing of the failed one', async () => {
    expect((await run('ADD', 'c1', conf('1.1.0', { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] } }))).exitCode).toBe(0);
    const again = await run('ADD', 'c1', conf());
    expect(again.exitCode).toBe(1);
    expect(again.json).toMatchObject({ cniVersion: '1.1.0', code: expect.any(Number), msg: expect.stringContaining('already connected') });
    const taken = await run('ADD', 'c2', conf('1.1.0', { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] } }));
    expect(taken.json).toMatchObject({ code: 102, msg: expect.stringContaining('8080'), details: expect.stringContaining('SWY_ERR_PORT_CONFLICT') });
    expect((await sy.controller.listSandboxes()).map((s) => s.name)).toEqual([sandboxNameFor('c1')]);
  });

  it('refuses a config Switchyard cannot honour with code 7 and creates nothing', async () => {
    const bad = await run('ADD', 'c1', conf('1.1.0', { hairpin: 'yes' }));
    expect(bad.json).toMatchObject({ code: 7, msg: expect.stringContaining('hairpin') });
    expect(await sy.controller.listNetworks()).toEqual([]);
    expect(await sy.controller.listSandboxes()).toEqual([]);
  });

  it('a failed first ADD removes the network it created; a network others use stays', async () => {
    const outside = await run('ADD', 'c1', conf('1.1.0', { runtimeConfig: { ips: ['10.99.0.5'] } }));
    expect(outside.json).toMatchObject({ code: 7, details: expect.stringContaining('SWY_ERR_ADDRESS_OUT_OF_RANGE') });
    expect(await sy.controller.listNetworks()).toEqual([]);
    expect((await run('ADD', 'c1', conf())).exitCode).toBe(0);
    expect((await run('ADD', 'c2', conf('1.1.0', { runtimeConfig: { ips: ['10.99.0.5'] } }))).exitCode).toBe(1);
    expect((await sy.controller.listNetworks()).map((n) => n.name)).toEqual(['mynet']);
  });

  it('takes the keys a runtime adds (the GC list) on ADD, and passes on only the spec DNS keys of the config', async () => {
    const add = await run('ADD', 'c1', conf('1.1.0', { 'cni.dev/valid-attachments': [], dns: { nameservers: ['10.22.0.1'], extra: 'x' } }));
    expect(add.exitCode).toBe(0);
    expect(add.json?.dns).toEqual({ nameservers: ['10.22.0.1'] });
  });

  it('takes the aliases and dns capabilities: the endpoint answers to the aliases, the result carries the runtime DNS', async () => {
    const add = await run(
      'ADD',
      'c1',
      conf('1.1.0', { dns: { nameservers: ['10.22.0.1'], domain: 'example.org' }, runtimeConfig: { aliases: { mynet: ['web', 'www'], other: ['no'] }, dns: { servers: ['192.0.2.53'], searches: ['corp'], options: ['ndots:1'] } } }),
    );
    expect(add.exitCode).toBe(0);
    expect(add.json?.dns).toEqual({ nameservers: ['192.0.2.53'], domain: 'example.org', search: ['corp'], options: ['ndots:1'] });
    expect((await sy.controller.inspectSandbox(sandboxNameFor('c1'))).endpoints[0]?.aliases).toEqual(['web', 'www']);
    const bad = await run('ADD', 'c2', conf('1.1.0', { runtimeConfig: { aliases: { mynet: 'web' } } }));
    expect(bad.json).toMatchObject({ code: 7, msg: 'invalid runtimeConfig.aliases' });
    expect((await run('ADD', 'c3', conf('1.1.0', { runtimeConfig: { dns: { servers: '1.1.1.1' } } }))).json).toMatchObject({ code: 7 });
    expect((await sy.controller.listSandboxes()).map((s) => s.name)).toEqual([sandboxNameFor('c1')]);
  });

  it('CHECK passes for a live attachment with its prevResult, and says code 3 for one that does not exist', async () => {
    const add = await run('ADD', 'c1', conf());
    expect((await run('CHECK', 'c1', conf('1.1.0', { prevResult: add.json }))).exitCode).toBe(0);
    const missing = await run('CHECK', 'c9', conf('1.1.0', { prevResult: add.json }));
    expect(missing.json).toMatchObject({ code: 3 });
  });

  it('DEL is idempotent, and complete when the netns is already gone', async () => {
    await run('ADD', 'c1', conf());
    rmSync(netns('c1'));
    expect(await run('DEL', 'c1', conf(), { CNI_NETNS: '' })).toMatchObject({ exitCode: 0, stdout: '' });
    expect(await run('DEL', 'c1', conf())).toMatchObject({ exitCode: 0, stdout: '' });
    expect(await run('DEL', 'never-added', conf())).toMatchObject({ exitCode: 0, stdout: '' });
    expect(sy.ipam.allocated()).toEqual([]);
    expect(await sy.controller.listSandboxes()).toEqual([]);
  });

  it('GC removes every attachment of the network not in cni.dev/valid-attachments, and keeps the valid ones', async () => {
    for (const id of ['c1', 'c2', 'c3']) expect((await run('ADD', id, conf())).exitCode).toBe(0);
    const gc = await run('GC', '', conf('1.1.0', { 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth0' }] }));
    expect(gc).toMatchObject({ exitCode: 0, stdout: '' });
    expect((await sy.controller.listSandboxes()).map((s) => s.name)).toEqual([sandboxNameFor('c2')]);
    expect(sy.ipam.allocated()).toHaveLength(1);
  });

  it('STATUS is ready for a network that is in place or not made yet', async () => {
    expect(await run('STATUS', '', conf())).toMatchObject({ exitCode: 0, stdout: '' });
    await run('ADD', 'c1', conf());
    expect(await run('STATUS', '', conf())).toMatchObject({ exitCode: 0, stdout: '' });
  });
});
