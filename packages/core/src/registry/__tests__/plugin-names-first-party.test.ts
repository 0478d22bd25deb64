import { parsePluginPackageName, pluginPackageName } from '../plugin-names.js';
import { installFakePlugin, makeRegistry, makeTempApp, type TempApp } from './plugin-fixtures.js';

describe('the default IPAM, host-local', () => {
  let app: TempApp;
  beforeEach(() => {
    app = makeTempApp();
  });
  afterEach(() => app.cleanup());

  it('is provided by the real package @switchyard/ipam-host-local, in both directions of the name mapping', () => {
    expect(pluginPackageName('ipam', 'host-local')).toBe('@switchyard/ipam-host-local');
    expect(parsePluginPackageName('@switchyard/ipam-host-local')).toEqual({ kind: 'ipam', type: 'host-local' });
    expect(pluginPackageName('ipam', 'dhcp')).toBe('switchyard-ipam-dhcp');
  });

  it('is loaded from @switchyard/ipam-host-local on first use when the embedder registered none', async () => {
    const methods = ['requestPool', 'releasePool', 'requestAddress', 'releaseAddress', 'releaseOwner'].map((m) => `${m}: async () => ({})`).join(', ');
    installFakePlugin(app.dir, {
      name: '@switchyard/ipam-host-local',
      type: 'host-local',
      packageJson: { switchyard: { kind: 'ipam', type: 'host-local', apiVersion: 1 } },
      body: `export default { kind: 'ipam', apiVersion: 1, name: 'host-local', version: '1.2.3', create: () => ({ name: 'host-local', ${methods} }) };\n`,
    });
    const { registry } = makeRegistry({ appDir: app.dir });

    await registry.ipam('host-local');

    expect(registry.list()).toEqual([expect.objectContaining({ kind: 'ipam', type: 'host-local', origin: 'package', packageName: '@switchyard/ipam-host-local' })]);
  });

  it('when missing, is named in the hint by its real package and the command that installs it', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });

    const err = await registry.ipam('host-local').then(
      () => undefined,
      (e: unknown) => e as { code: string; hint: string },
    );

    expect(err?.code).toBe('SWY_ERR_DRIVER_NOT_FOUND');
    expect(err?.hint).toContain(`Install it: \`npm install @switchyard/ipam-host-local\` (run in ${app.dir}`);
  });
});
