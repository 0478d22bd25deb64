import type { JsonObject } from '@switchyard/core';
import { createTestSwitchyard, type TestSwitchyard } from '@switchyard/core/testing';
import { createCniDriverManifest } from '../index.js';
import { makeFakePlugins, type FakePlugins } from './fake-plugins.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// driver-cni through core's controller on FakeKernel: core skips its IPAM and records what the plugins reported.
describe('cni networks through the controller (fake plugins, FakeKernel)', () => {
  let plugins: FakePlugins;
  let cacheDir: string;
  let sy: TestSwitchyard;
  const config: JsonObject = { cniVersion: '1.1.0', name: 'web', plugins: [{ type: 'fa', capabilities: { ips: true } }, { type: 'fb' }] };

  beforeEach(async () => {
    plugins = makeFakePlugins({ fa: undefined, fb: undefined });
    cacheDir = mkdtempSync(join(tmpdir(), 'swy-cni-sy-'));
    sy = await createTestSwitchyard([createCniDriverManifest({ cniPath: plugins.dir, cacheDir })]);
    await sy.controller.createNetwork({ name: 'web', driver: 'cni', options: { config } });
  });
  afterEach(async () => {
    await sy.dispose();
    plugins.remove();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('records the address, gateway and MAC of the ADD result on the endpoint, with no Switchyard IPAM involved', async () => {
    await sy.controller.createSandbox({ name: 'a' });
    const ep = await sy.controller.connect('web', 'a', { ipv4: '10.1.0.77' });
    expect(ep).toMatchObject({ ipv4: '10.1.0.77/24', gateway4: '10.1.0.1', mac: '02:42:0a:01:00:05', providesDefaultRoute: false });
    expect((await sy.controller.inspectNetwork('web')).ipamDriver).toBe('driver');
    expect([sy.ipam.poolCount(), sy.ipam.allocated()]).toEqual([0, []]);
    expect(plugins.calls().map((c) => `${c.command} ${c.plugin}`)).toEqual(['VERSION fa', 'VERSION fb', 'ADD fa', 'ADD fb']);
  });

  it('disconnect and sandbox removal run DEL of the chain in reverse', async () => {
    await sy.controller.createSandbox({ name: 'a' });
    await sy.controller.createSandbox({ name: 'b' });
    await sy.controller.connect('web', 'a');
    await sy.controller.connect('web', 'b');
    plugins.reset();
    await sy.controller.disconnect('web', 'a');
    await sy.controller.deleteSandbox('b');
    // b's namespace goes first (Switchyard owns it), so its DEL runs without one.
    expect(plugins.calls().map((c) => `${c.command} ${c.plugin} ${c.netns === '' ? 'no-netns' : 'netns'}`)).toEqual(['DEL fb netns', 'DEL fa netns', 'DEL fb no-netns', 'DEL fa no-netns']);
  });

  it('a failing ADD leaves no endpoint, and the error carries the plugin name', async () => {
    await sy.controller.createNetwork({ name: 'bad', driver: 'cni', options: { config: { ...config, name: 'bad', plugins: [{ type: 'fa' }, { type: 'fb', fake: { fail: { ADD: { code: 11, msg: 'no' } } } }] } } });
    await sy.controller.createSandbox({ name: 'a' });
    await expect(sy.controller.connect('bad', 'a')).rejects.toMatchObject({ code: 'SWY_ERR_CNI_PLUGIN_FAILED', details: { plugin: 'fb' } });
    expect((await sy.controller.inspectSandbox('a')).endpoints).toEqual([]);
    expect(await sy.store.list('intents')).toEqual([]);
  });

  it('gc DELs an attachment whose endpoint the store lost and GCs the plugins with the live ones', async () => {
    await sy.controller.createSandbox({ name: 'a' });
    await sy.controller.createSandbox({ name: 'b' });
    const a = await sy.controller.connect('web', 'a');
    const b = await sy.controller.connect('web', 'b');
    const record = await sy.store.get<{ endpoints: unknown[] }>('sandboxes', 'b');
    await sy.store.transaction((tx) => tx.put('sandboxes', 'b', { ...record, endpoints: [] }));
    plugins.reset();
    const report = await sy.controller.gc();
    expect(report.actions.filter((x) => x.kind === 'remove-link').map((x) => [x.target, x.done])).toEqual([[`web/${b.id}/eth0`, true]]);
    const gc = plugins.calls().filter((c) => c.command === 'GC');
    expect(gc.map((c) => [c.plugin, c.stdin['cni.dev/valid-attachments']])).toEqual([
      ['fa', [{ containerID: a.id, ifname: 'eth0' }]],
      ['fb', [{ containerID: a.id, ifname: 'eth0' }]],
    ]);
  });
});
