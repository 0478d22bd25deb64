import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_NS, type DriverEndpoint, type DriverNetwork, type DriverSandbox, type JsonObject } from '@switchyard/core';
import { FakeKernel } from '@switchyard/core/testing';
import { CniDriver, spawnPlugin } from '../index.js';
import { makeFakePlugins, type FakePlugins } from './fake-plugins.js';

const EP: DriverEndpoint = { id: 'e'.repeat(64), ifname: 'eth0', state: {} };
const SANDBOX: DriverSandbox = { id: 's1', netns: { kind: 'named', name: 'sb1' } };

describe('CniDriver (fake plugins, FakeKernel)', () => {
  let plugins: FakePlugins;
  let cacheDir: string;
  let kernel: FakeKernel;
  let driver: CniDriver;

  beforeEach(() => {
    plugins = makeFakePlugins({ fa: undefined, fb: undefined, fc: undefined, old: ['0.3.0', '0.3.1'] });
    cacheDir = mkdtempSync(join(tmpdir(), 'swy-cni-cache-'));
    kernel = new FakeKernel();
    driver = new CniDriver(kernel, { cniPath: plugins.dir, cacheDir, run: spawnPlugin, netnsDir: '/run/netns' });
  });
  afterEach(() => {
    plugins.remove();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  /** A network as core would hand it over after validate + createNetwork. */
  async function network(config: JsonObject, extra: JsonObject = {}): Promise<DriverNetwork> {
    const options = driver.validateNetworkOptions({ config, ...extra });
    const base: DriverNetwork = { id: 'n'.repeat(64), name: 'net', options, state: {}, internal: false };
    const plan = await driver.createNetwork(base);
    plugins.reset();
    return { ...base, state: plan.state ?? {} };
  }
  const list = (plugins: JsonObject[], more: JsonObject = {}): JsonObject => ({ cniVersion: '1.0.0', name: 'mynet', plugins, ...more });
  const calls = () => plugins.calls().map((c) => `${c.command} ${c.plugin}`);

  describe('version negotiation through VERSION', () => {
    it('runs the config version when every plugin supports it, asking each distinct plugin once', async () => {
      const options = driver.validateNetworkOptions({ config: list([{ type: 'fa' }, { type: 'fb' }, { type: 'fa' }]) });
      const plan = await driver.createNetwork({ id: 'n1', name: 'net', options, state: {}, internal: false });
      expect(plan.state?.cniVersion).toBe('1.0.0');
      expect(calls()).toEqual(['VERSION fa', 'VERSION fb']);
      expect(plugins.calls()[0]?.stdin).toEqual({ cniVersion: '1.0.0' });
    });

    it('picks the highest of cniVersions that every plugin supports', async () => {
      const options = driver.validateNetworkOptions({ config: list([{ type: 'fa' }, { type: 'old' }], { cniVersions: ['1.0.0', '0.3.1', '0.3.0'] }) });
      expect((await driver.createNetwork({ id: 'n1', name: 'net', options, state: {}, internal: false })).state?.cniVersion).toBe('0.3.1');
    });

    it('refuses a config version a plugin does not support, naming the plugin and both sides', async () => {
      const options = driver.validateNetworkOptions({ config: list([{ type: 'fa' }, { type: 'old' }]) });
      const err = await driver.createNetwork({ id: 'n1', name: 'net', options, state: {}, internal: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SWY_ERR_CNI_VERSION_UNSUPPORTED', kind: 'InvalidArgument' });
      expect((err as Error).message).toBe('CNI plugin "old" of network "mynet" does not support CNI version 1.0.0; it supports 0.3.0, 0.3.1');
    });

    it('refuses a version driver-cni does not speak', async () => {
      const options = driver.validateNetworkOptions({ config: list([{ type: 'fa' }], { cniVersion: '9.9.9' }) });
      await expect(driver.createNetwork({ id: 'n1', name: 'net', options, state: {}, internal: false })).rejects.toMatchObject({ code: 'SWY_ERR_CNI_VERSION_UNSUPPORTED' });
    });

    it('refuses a plugin missing from the CNI path, naming the directories searched', async () => {
      const options = driver.validateNetworkOptions({ config: list([{ type: 'fa' }, { type: 'nosuch' }]) });
      const err = await driver.createNetwork({ id: 'n1', name: 'net', options, state: {}, internal: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SWY_ERR_CNI_PLUGIN_NOT_FOUND', details: { plugin: 'nosuch', cniPath: [plugins.dir] } });
    });
  });

  describe('ADD and DEL through the chain', () => {
    it('runs ADD in list order, each plugin getting the previous result, with the CNI environment', async () => {
      const n = await network(list([{ type: 'fa' }, { type: 'fb' }, { type: 'fc' }]), { args: { IgnoreUnknown: '1', K8S_POD_NAME: 'web' } });
      const got = await driver.attach(n, EP, SANDBOX, {});
      expect(got).toEqual({ ipv4: '10.1.0.5/24', gateway4: '10.1.0.1', mac: '02:42:0a:01:00:05', state: { containerId: EP.id } });
      const log = plugins.calls();
      expect(log.map((c) => `${c.command} ${c.plugin}`)).toEqual(['ADD fa', 'ADD fb', 'ADD fc']);
      expect(log[0]).toMatchObject({ containerId: EP.id, netns: '/run/netns/sb1', ifname: 'eth0', args: 'IgnoreUnknown=1;K8S_POD_NAME=web', path: plugins.dir });
      expect(log[0]?.stdin).toEqual({ type: 'fa', name: 'mynet', cniVersion: '1.0.0' });
      const first = log[0] && JSON.stringify(log[0].stdin);
      expect(first).not.toContain('prevResult');
      expect(log[1]?.stdin.prevResult).toMatchObject({ ips: [{ address: '10.1.0.5/24' }] });
      expect(log[2]?.stdin.prevResult).toEqual(log[1]?.stdin.prevResult);
    });

    it('runs DEL in reverse order with the cached result as prevResult, then forgets the attachment', async () => {
      const n = await network(list([{ type: 'fa' }, { type: 'fb' }, { type: 'fc' }]));
      await driver.attach(n, EP, SANDBOX, {});
      const cacheFile = join(cacheDir, 'results', `mynet-${EP.id}-eth0`);
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as JsonObject;
      expect(cached).toMatchObject({ kind: 'cniCacheV1', networkId: n.id, containerId: EP.id, ifName: 'eth0', cniVersion: '1.0.0', result: { ips: [{ address: '10.1.0.5/24' }] } });
      plugins.reset();
      await driver.detach(n, EP, SANDBOX);
      expect(calls()).toEqual(['DEL fc', 'DEL fb', 'DEL fa']);
      expect(plugins.calls().every((c) => JSON.stringify(c.stdin.prevResult) === JSON.stringify(cached.result))).toBe(true);
      expect(existsSync(cacheFile)).toBe(false);
    });

    it('runs DEL with the list and arguments ADD ran with, even after the network config changed', async () => {
      const n = await network(list([{ type: 'fa' }, { type: 'fb' }]), { args: { A: '1' } });
      await driver.attach(n, EP, SANDBOX, {});
      plugins.reset();
      const changed = { ...n, options: driver.validateNetworkOptions({ config: list([{ type: 'fc' }]), args: { B: '2' } }) };
      await driver.detach(changed, EP, SANDBOX);
      expect(plugins.calls().map((c) => `${c.command} ${c.plugin} ${c.args ?? ''}`)).toEqual(['DEL fb A=1', 'DEL fa A=1']);
    });

    it('sends DEL without a namespace when the sandbox is gone', async () => {
      const n = await network(list([{ type: 'fa' }]));
      await driver.attach(n, EP, SANDBOX, {});
      plugins.reset();
      await driver.detach(n, EP, undefined);
      expect(plugins.calls().map((c) => [c.command, c.netns])).toEqual([['DEL', '']]);
    });

    it('gives prevResult to DEL only from CNI 0.4.0 on', async () => {
      const n = await network(list([{ type: 'fa' }], { cniVersion: '0.3.1' }));
      await driver.attach(n, EP, SANDBOX, {});
      plugins.reset();
      await driver.detach(n, EP, SANDBOX);
      expect(plugins.calls()[0]?.stdin.prevResult).toBeUndefined();
    });

    it('keeps the cache entry when DEL fails, so a retry runs with it', async () => {
      const n = await network(list([{ type: 'fa', fake: { fail: { DEL: { code: 11, msg: 'busy' } } } }]));
      await driver.attach(n, EP, SANDBOX, {});
      await expect(driver.detach(n, EP, SANDBOX)).rejects.toMatchObject({ code: 'SWY_ERR_CNI_PLUGIN_FAILED', details: { cniCode: 11 } });
      expect(existsSync(join(cacheDir, 'results', `mynet-${EP.id}-eth0`))).toBe(true);
    });
  });

  describe('capability arguments', () => {
    it('gives each plugin runtimeConfig entries for the capabilities it declares, and nothing else', async () => {
      const n = await network(
        list([
          { type: 'fa', capabilities: { ips: true, mac: true } },
          { type: 'fb', capabilities: { portMappings: true, bandwidth: false } },
          { type: 'fc', runtimeConfig: { kept: true } },
        ]),
        { capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], bandwidth: { ingressRate: 1000 } } },
      );
      const got = await driver.attach(n, { ...EP, mac: '02:00:00:00:00:42' }, SANDBOX, { ipv4: '10.1.0.42' });
      expect(got).toMatchObject({ ipv4: '10.1.0.42/24', mac: '02:00:00:00:00:42' });
      const [a, b, c] = plugins.calls().map((x) => x.stdin.runtimeConfig);
      expect(a).toEqual({ ips: ['10.1.0.42'], mac: '02:00:00:00:00:42' });
      expect(b).toEqual({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
      // A plugin that declares nothing keeps its own static runtimeConfig, untouched.
      expect(c).toEqual({ kept: true });
    });

    it('refuses a static address or MAC when no plugin declares the capability, before any plugin runs', async () => {
      const n = await network(list([{ type: 'fa' }]));
      await expect(driver.attach(n, EP, SANDBOX, { ipv4: '10.1.0.9' })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
      await expect(driver.attach(n, { ...EP, mac: '02:00:00:00:00:01' }, SANDBOX, {})).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
      expect(plugins.calls()).toEqual([]);
    });

    it('undoes an ADD whose plugins ignored the requested address', async () => {
      const n = await network(list([{ type: 'fa', capabilities: { ips: true } }, { type: 'fb' }]));
      // The fake IPAM hands out the first requested address only: the IPv6 one is ignored.
      const err = await driver.attach(n, EP, SANDBOX, { ipv4: '10.1.0.42', ipv6: 'fd00::42' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SWY_ERR_INVALID_OPTION', message: 'CNI network "mynet" did not honour the requested address fd00::42 (got none)' });
      expect(calls()).toEqual(['ADD fa', 'ADD fb', 'DEL fb', 'DEL fa']);
      expect(existsSync(join(cacheDir, 'results', `mynet-${EP.id}-eth0`))).toBe(false);
    });
  });

  describe('errors and rollback', () => {
    it('turns a plugin error object into SWY_ERR_CNI_PLUGIN_FAILED with its msg and details in the hint', async () => {
      const n = await network(list([{ type: 'fa', fake: { fail: { ADD: { code: 7, msg: 'bad bridge name', details: 'name too long' } } } }]));
      const err = await driver.attach(n, EP, SANDBOX, {}).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'SWY_ERR_CNI_PLUGIN_FAILED',
        message: 'CNI plugin "fa" failed ADD on network "mynet" [CNI code 7: invalid network config]',
        hint: 'The plugin said: bad bridge name (name too long)',
        details: { plugin: 'fa', command: 'ADD', cniCode: 7, msg: 'bad bridge name', cniDetails: 'name too long' },
      });
    });

    it('quotes stderr when a plugin fails without an error object', async () => {
      const n = await network(list([{ type: 'fa', fake: { stderr: { ADD: 'panic: nil map' } } }]));
      await expect(driver.attach(n, EP, SANDBOX, {})).rejects.toMatchObject({ code: 'SWY_ERR_CNI_PLUGIN_FAILED', hint: 'The plugin said: panic: nil map', details: { exitCode: 2 } });
    });

    it('runs DEL of the whole chain in reverse when a later ADD fails, and leaves no cache entry', async () => {
      const n = await network(list([{ type: 'fa' }, { type: 'fb', fake: { fail: { ADD: { code: 11, msg: 'try later' } } } }, { type: 'fc' }]));
      await expect(driver.attach(n, EP, SANDBOX, {})).rejects.toMatchObject({ details: { plugin: 'fb', cniCode: 11 } });
      expect(calls()).toEqual(['ADD fa', 'ADD fb', 'DEL fc', 'DEL fb', 'DEL fa']);
      // DEL gets the last result the chain produced.
      const del = plugins.calls().filter((c) => c.command === 'DEL');
      expect(del.every((c) => (c.stdin.prevResult as { ips?: unknown[] } | undefined)?.ips !== undefined)).toBe(true);
      expect(existsSync(join(cacheDir, 'results', `mynet-${EP.id}-eth0`))).toBe(false);
    });

    it('refuses options it does not know, and configs that are not CNI configs', () => {
      expect(() => driver.validateNetworkOptions({ config: list([{ type: 'fa' }]), mtu: 1500 })).toThrow(expect.objectContaining({ code: 'SWY_ERR_INVALID_OPTION' }));
      expect(() => driver.validateNetworkOptions({})).toThrow(expect.objectContaining({ code: 'SWY_ERR_INVALID_OPTION' }));
      expect(() => driver.validateNetworkOptions({ config: { name: 'x', type: 'fa' } })).toThrow(expect.objectContaining({ code: 'SWY_ERR_CONFIG_INVALID' }));
      expect(() => driver.validateNetworkOptions({ config: { cniVersion: '1.0.0', name: 'x', type: '../../bin/sh' } })).toThrow(expect.objectContaining({ code: 'SWY_ERR_CONFIG_INVALID' }));
      expect(() => driver.validateNetworkOptions({ config: '{not json' })).toThrow(expect.objectContaining({ code: 'SWY_ERR_CONFIG_INVALID' }));
      expect(() => driver.validateNetworkOptions({ config: list([{ type: 'fa' }]), args: { A: 'x;B=y' } })).toThrow(expect.objectContaining({ code: 'SWY_ERR_INVALID_OPTION' }));
    });

    it('reads a single .conf as a list of one, inline JSON text too', () => {
      const out = driver.validateNetworkOptions({ config: JSON.stringify({ cniVersion: '0.4.0', name: 'one', type: 'fa', bridge: 'x' }) });
      expect(out.config).toEqual({ cniVersion: '0.4.0', name: 'one', disableCheck: false, disableGC: false, plugins: [{ cniVersion: '0.4.0', name: 'one', type: 'fa', bridge: 'x' }] });
    });
  });

  describe('CHECK', () => {
    it('runs CHECK in list order with the cached result as prevResult', async () => {
      const n = await network(list([{ type: 'fa' }, { type: 'fb' }]));
      await driver.attach(n, EP, SANDBOX, {});
      plugins.reset();
      expect(await driver.check(n, EP, SANDBOX)).toBe(true);
      expect(calls()).toEqual(['CHECK fa', 'CHECK fb']);
      expect(plugins.calls()[0]?.stdin.prevResult).toMatchObject({ ips: [{ address: '10.1.0.5/24' }] });
    });

    it('is skipped when the list has disableCheck, and refused before CNI 0.4.0', async () => {
      const off = await network(list([{ type: 'fa' }], { disableCheck: true }));
      await driver.attach(off, EP, SANDBOX, {});
      plugins.reset();
      expect(await driver.check(off, EP, SANDBOX)).toBe(false);
      expect(plugins.calls()).toEqual([]);
      const old = await network(list([{ type: 'fa' }], { cniVersion: '0.3.1' }));
      await expect(driver.check(old, EP, SANDBOX)).rejects.toMatchObject({ code: 'SWY_ERR_CNI_VERSION_UNSUPPORTED' });
    });

    it('reports a plugin that finds the attachment changed', async () => {
      const n = await network(list([{ type: 'fa', fake: { fail: { CHECK: { code: 3, msg: 'interface eth0 not found' } } } }]));
      await driver.attach(n, EP, SANDBOX, {});
      await expect(driver.check(n, EP, SANDBOX)).rejects.toMatchObject({ code: 'SWY_ERR_CNI_PLUGIN_FAILED', details: { cniCode: 3, command: 'CHECK' } });
    });
  });

  describe('GC', () => {
    const other: DriverEndpoint = { id: 'f'.repeat(64), ifname: 'eth1', state: {} };

    it('DELs cached attachments of the network that are not live, then GCs every plugin with the valid attachments (1.1.0)', async () => {
      const n = await network(list([{ type: 'fa' }, { type: 'fb' }], { cniVersion: '1.1.0' }));
      await driver.attach(n, EP, SANDBOX, {});
      await driver.attach(n, other, SANDBOX, {});
      plugins.reset();
      const removed = await driver.collectEndpoints(n, [EP]);
      expect(removed).toEqual([`mynet/${other.id}/eth1`]);
      expect(plugins.calls().map((c) => `${c.command} ${c.plugin} ${c.containerId ?? '-'} ${c.netns ?? '-'}`)).toEqual([`DEL fb ${other.id} `, `DEL fa ${other.id} `, 'GC fa - -', 'GC fb - -']);
      const gc = plugins.calls().find((c) => c.command === 'GC');
      expect(gc?.stdin).toEqual({ type: 'fa', name: 'mynet', cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: EP.id, ifname: 'eth0' }] });
    });

    it('keeps the attachments of another network that shares the CNI name valid', async () => {
      const n = await network(list([{ type: 'fa' }], { cniVersion: '1.1.0' }));
      const sibling = { ...n, id: 's'.repeat(64) };
      await driver.attach(sibling, other, SANDBOX, {});
      plugins.reset();
      expect(await driver.collectEndpoints(n, [])).toEqual([]);
      expect(plugins.calls().map((c) => [c.command, c.stdin['cni.dev/valid-attachments']])).toEqual([['GC', [{ containerID: other.id, ifname: 'eth1' }]]]);
    });

    it('only DELs stale attachments before CNI 1.1.0, and does nothing with disableGC', async () => {
      const n = await network(list([{ type: 'fa' }]));
      await driver.attach(n, other, SANDBOX, {});
      plugins.reset();
      expect(await driver.collectEndpoints(n, [])).toEqual([`mynet/${other.id}/eth1`]);
      expect(calls()).toEqual(['DEL fa']);
      const off = await network(list([{ type: 'fb' }], { disableGC: true, name: 'offnet' }));
      await driver.attach(off, other, SANDBOX, {});
      plugins.reset();
      expect(await driver.collectEndpoints(off, [])).toEqual([]);
      expect(plugins.calls()).toEqual([]);
    });
  });

  it('removes the bridge a reference bridge plugin made when the network goes, unless an attachment still uses it', async () => {
    const bridgePlugins = makeFakePlugins({ bridge: undefined });
    try {
      const own = new CniDriver(kernel, { cniPath: bridgePlugins.dir, cacheDir, run: spawnPlugin });
      const options = own.validateNetworkOptions({ config: list([{ type: 'bridge', bridge: 'br-cni' }]) });
      const base: DriverNetwork = { id: 'n'.repeat(64), name: 'net', options, state: {}, internal: false };
      const n = { ...base, state: (await own.createNetwork(base)).state ?? {} };
      expect(n.state.bridges).toEqual(['br-cni']);
      // The plugin would make it on the first ADD.
      await kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: 'br-cni' } }]);
      await own.attach(n, EP, SANDBOX, {});
      expect((await own.deleteNetwork(n)).steps).toEqual([]);
      await own.detach(n, EP, SANDBOX);
      expect((await own.deleteNetwork(n)).steps).toEqual([{ op: 'link.del', name: 'br-cni', ifExists: true }]);
      // A bridge that was there before the network is never its to remove.
      const again = { ...base, state: (await own.createNetwork(base)).state ?? {} };
      expect((await own.deleteNetwork(again)).steps).toEqual([]);
    } finally {
      bridgePlugins.remove();
    }
  });
});
