import { GC_ATTACHMENTS_KEY } from '../config.js';
import { CniError } from '../errors.js';
import { resultFor, resultProblems, type CniResult } from '../result.js';
import { runPlugin, toCniError, versionAnswer, type GcContext, type PluginContext, type PluginHandlers } from '../run.js';
import { SUPPORTED_VERSIONS, type CniVersion } from '../versions.js';
import { configText, envFor, expectErrorOutput, fullResult } from './helpers.js';

/** Handlers that record what they were called with and return `result` from ADD. */
function recorder(result: CniResult = fullResult()) {
  const calls: { op: string; ctx: PluginContext }[] = [];
  const handlers: Required<Omit<PluginHandlers, 'supportedVersions'>> = {
    add: async (ctx) => {
      calls.push({ op: 'add', ctx });
      return result;
    },
    del: async (ctx) => void calls.push({ op: 'del', ctx }),
    check: async (ctx) => void calls.push({ op: 'check', ctx }),
    status: async (ctx) => void calls.push({ op: 'status', ctx }),
    gc: async (ctx) => void calls.push({ op: 'gc', ctx }),
  };
  return { calls, handlers };
}

/** Handlers that must not be called. */
const untouchable: PluginHandlers = {
  add: () => Promise.reject(new Error('add called')),
  del: () => Promise.reject(new Error('del called')),
  check: () => Promise.reject(new Error('check called')),
  status: () => Promise.reject(new Error('status called')),
  gc: () => Promise.reject(new Error('gc called')),
};

const prev040 = () => JSON.parse(JSON.stringify(resultFor(fullResult(), '0.4.0')));
const gcConfig = configText('1.1.0', { [GC_ATTACHMENTS_KEY]: [{ containerID: 'c0ffee-01', ifname: 'eth0' }] });

describe('runPlugin VERSION', () => {
  it('answers the newest version and the supported list when stdin says nothing, calling no handler', async () => {
    const out = await runPlugin(untouchable, { env: { CNI_COMMAND: 'VERSION' }, stdin: '' });
    expect(out).toEqual({ exitCode: 0, stdout: JSON.stringify({ cniVersion: '1.1.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] }) });
  });

  it.each(SUPPORTED_VERSIONS)('echoes the requested version %s', async (version) => {
    const out = await runPlugin(untouchable, { env: { CNI_COMMAND: 'VERSION' }, stdin: JSON.stringify({ cniVersion: version }) });
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] });
  });

  it('answers its newest version for a requested version it does not speak', async () => {
    const out = await runPlugin(untouchable, { env: { CNI_COMMAND: 'VERSION' }, stdin: '{"cniVersion": "0.2.0"}' });
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: [...SUPPORTED_VERSIONS] });
  });

  it('answers with the plugin list, sorted and deduplicated', async () => {
    const handlers = { ...untouchable, supportedVersions: ['1.0.0', '0.4.0', '1.0.0'] as CniVersion[] };
    const out = await runPlugin(handlers, { env: { CNI_COMMAND: 'VERSION' }, stdin: '{"cniVersion": "1.1.0"}' });
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] });
    expect(versionAnswer('0.4.0', ['0.4.0', '1.0.0'])).toEqual({ cniVersion: '0.4.0', supportedVersions: ['0.4.0', '1.0.0'] });
  });

  it('refuses a VERSION stdin that is not JSON (code 6)', async () => {
    expectErrorOutput(await runPlugin(untouchable, { env: { CNI_COMMAND: 'VERSION' }, stdin: '{' }), 6, '1.1.0');
  });
});

describe('runPlugin ADD', () => {
  it.each(SUPPORTED_VERSIONS)('prints the result in the config version %s', async (version) => {
    const { handlers } = recorder();
    const prevResult = version === '0.3.1' ? undefined : resultFor(fullResult(), version);
    const out = await runPlugin(handlers, { env: envFor('ADD'), stdin: configText(version, prevResult === undefined ? {} : { prevResult }) });
    expect(out.exitCode).toBe(0);
    const printed = JSON.parse(out.stdout);
    expect(printed).toEqual(resultFor(fullResult(), version));
    expect(resultProblems(printed, version)).toEqual([]);
  });

  it('hands the handler the parsed environment, the config and the prevResult in the 1.x form', async () => {
    const { calls, handlers } = recorder();
    await runPlugin(handlers, { env: envFor('ADD'), stdin: configText('0.4.0', { prevResult: prev040(), bridge: 'syb0' }) });
    expect(calls).toHaveLength(1);
    const ctx = calls[0]!.ctx;
    expect(ctx.command).toBe('ADD');
    expect(ctx.cniVersion).toBe('0.4.0');
    expect(ctx.env).toEqual({ command: 'ADD', containerId: 'c0ffee-01', netns: '/run/netns/test', ifname: 'eth0', args: { K8S_POD_NAME: 'web-0', IgnoreUnknown: '1' }, path: ['/opt/cni/bin', '/usr/libexec/cni'] });
    expect(ctx.config.bridge).toBe('syb0');
    expect(ctx.prevResult?.ips).toEqual(fullResult().ips);
  });

  it('refuses to print a malformed result (code 100)', async () => {
    const { handlers } = recorder({ ips: [{ address: '10.1.0.5' }] });
    const error = expectErrorOutput(await runPlugin(handlers, { env: envFor('ADD'), stdin: configText('1.0.0') }), 100, '1.0.0');
    expect(error.msg).toBe('plugin produced an invalid result');
    expect(error.details).toMatch(/ips\[0\]\.address/);
  });

  it('refuses a result with an unknown top-level key (code 100)', async () => {
    const { handlers } = recorder({ ...fullResult(), ip4: {} } as CniResult);
    expectErrorOutput(await runPlugin(handlers, { env: envFor('ADD'), stdin: configText('1.1.0') }), 100);
  });

  it('refuses an ADD that returns no result (code 100)', async () => {
    const handlers: PluginHandlers = { ...untouchable, add: async () => undefined as unknown as CniResult };
    expect(expectErrorOutput(await runPlugin(handlers, { env: envFor('ADD'), stdin: configText('1.1.0') }), 100).details).toMatch(/not a result object/);
  });
});

describe('runPlugin DEL, CHECK, STATUS, GC', () => {
  it('runs DEL and prints nothing', async () => {
    const { calls, handlers } = recorder();
    expect(await runPlugin(handlers, { env: envFor('DEL', { CNI_NETNS: undefined }), stdin: configText('1.0.0') })).toEqual({ stdout: '', exitCode: 0 });
    expect(calls.map((c) => c.op)).toEqual(['del']);
    expect(calls[0]!.ctx.env.netns).toBeUndefined();
  });

  it('runs CHECK with the prevResult and prints nothing', async () => {
    const { calls, handlers } = recorder();
    expect(await runPlugin(handlers, { env: envFor('CHECK'), stdin: configText('0.4.0', { prevResult: prev040() }) })).toEqual({ stdout: '', exitCode: 0 });
    expect(calls.map((c) => c.op)).toEqual(['check']);
    expect(calls[0]!.ctx.prevResult?.interfaces).toHaveLength(2);
  });

  it('runs STATUS and prints nothing', async () => {
    const { calls, handlers } = recorder();
    expect(await runPlugin(handlers, { env: envFor('STATUS'), stdin: configText('1.1.0') })).toEqual({ stdout: '', exitCode: 0 });
    expect(calls.map((c) => c.op)).toEqual(['status']);
  });

  it('runs GC with the attachments to keep and prints nothing', async () => {
    const { calls, handlers } = recorder();
    expect(await runPlugin(handlers, { env: { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, stdin: gcConfig })).toEqual({ stdout: '', exitCode: 0 });
    expect(calls.map((c) => c.op)).toEqual(['gc']);
    expect((calls[0]!.ctx as GcContext).validAttachments).toEqual([{ containerID: 'c0ffee-01', ifname: 'eth0' }]);
  });

  it('reports ready on STATUS without a status handler', async () => {
    const { status: _, ...handlers } = untouchable;
    expect(await runPlugin(handlers, { env: envFor('STATUS'), stdin: configText('1.1.0') })).toEqual({ stdout: '', exitCode: 0 });
  });

  it('has nothing to collect on GC without a gc handler', async () => {
    const { gc: _, ...handlers } = untouchable;
    expect(await runPlugin(handlers, { env: envFor('GC'), stdin: gcConfig })).toEqual({ stdout: '', exitCode: 0 });
  });

  it('still refuses a GC without the attachment list when there is no gc handler (code 7)', async () => {
    const { gc: _, ...handlers } = untouchable;
    expectErrorOutput(await runPlugin(handlers, { env: envFor('GC'), stdin: configText('1.1.0') }), 7, '1.1.0');
  });

  it.each([
    ['CHECK', '0.3.1'],
    ['STATUS', '1.0.0'],
    ['GC', '1.0.0'],
  ])('refuses %s with a %s config (code 1), answering in that version', async (command, version) => {
    const stdin = configText(version, { prevResult: resultFor(fullResult(), version as CniVersion), [GC_ATTACHMENTS_KEY]: [] });
    const error = expectErrorOutput(await runPlugin(untouchable, { env: envFor(command), stdin }), 1, version);
    expect(error.msg).toBe(`config version does not allow ${command}`);
  });
});

describe('runPlugin errors', () => {
  it('prints a CniError from a handler as it is, in the config version', async () => {
    const handlers = { ...untouchable, del: () => Promise.reject(new CniError(3, 'container unknown', 'no such attachment')) };
    const out = await runPlugin(handlers, { env: envFor('DEL'), stdin: configText('0.4.0') });
    expect(out).toEqual({ exitCode: 1, stdout: JSON.stringify({ cniVersion: '0.4.0', code: 3, msg: 'container unknown', details: 'no such attachment' }) });
  });

  it('prints the codes of STATUS as the handler throws them', async () => {
    const handlers = { ...untouchable, status: () => Promise.reject(new CniError(51, 'plugin not available', 'daemon restarting')) };
    expectErrorOutput(await runPlugin(handlers, { env: envFor('STATUS'), stdin: configText('1.1.0') }), 51, '1.1.0');
  });

  it('prints any other error as the plugin-defined code 100 with its message', async () => {
    const handlers = { ...untouchable, check: () => Promise.reject(new TypeError('x is not a function')) };
    const error = expectErrorOutput(await runPlugin(handlers, { env: envFor('CHECK'), stdin: configText('1.0.0', { prevResult: resultFor(fullResult(), '1.0.0') }) }), 100, '1.0.0');
    expect(error).toEqual({ cniVersion: '1.0.0', code: 100, msg: 'x is not a function' });
  });

  it('maps an EAGAIN from the OS to try again later (11)', async () => {
    const eagain = Object.assign(new Error('EAGAIN: resource temporarily unavailable, read'), { code: 'EAGAIN' });
    const handlers = { ...untouchable, add: () => Promise.reject(eagain) };
    const error = expectErrorOutput(await runPlugin(handlers, { env: envFor('ADD'), stdin: configText('1.1.0') }), 11);
    expect(error.details).toMatch(/EAGAIN/);
  });

  it('keeps other OS errors at 100', async () => {
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    expectErrorOutput(await runPlugin({ ...untouchable, del: () => Promise.reject(enoent) }, { env: envFor('DEL'), stdin: configText('1.1.0') }), 100);
  });

  it('turns thrown values that are not errors into a message', () => {
    expect(toCniError('boom').toJSON('1.1.0')).toEqual({ cniVersion: '1.1.0', code: 100, msg: 'boom' });
    expect(toCniError(Object.create(null)).msg).toBe('unknown error');
    expect(toCniError(new Error('')).msg).toBe('Error');
    const own = new CniError(2, 'unsupported field', 'vlan: 5000');
    expect(toCniError(own)).toBe(own);
  });

  it('answers an environment error in the config version when stdin has one', async () => {
    const error = expectErrorOutput(await runPlugin(untouchable, { env: envFor('ADD', { CNI_IFNAME: undefined }), stdin: configText('0.3.1') }), 4, '0.3.1');
    expect(error.msg).toBe('missing environment variables: CNI_IFNAME');
  });

  it('answers in the newest supported version when stdin has no usable version', async () => {
    expectErrorOutput(await runPlugin(untouchable, { env: {}, stdin: 'garbage' }), 4, '1.1.0');
    expectErrorOutput(await runPlugin({ ...untouchable, supportedVersions: ['0.4.0', '1.0.0'] }, { env: envFor('ADD'), stdin: configText('1.1.0') }), 1, '1.0.0');
  });

  it('reports a plugin that declares a version this layer cannot speak (code 100)', async () => {
    const handlers = { ...untouchable, supportedVersions: ['0.2.0'] as unknown as CniVersion[] };
    expectErrorOutput(await runPlugin(handlers, { env: { CNI_COMMAND: 'VERSION' }, stdin: '' }), 100, '1.1.0');
    expectErrorOutput(await runPlugin({ ...untouchable, supportedVersions: [] }, { env: { CNI_COMMAND: 'VERSION' }, stdin: '' }), 100);
  });

  it.each([
    ['undecodable stdin', envFor('ADD'), '{', 6],
    ['missing cniVersion', envFor('ADD'), '{"name":"n","type":"t"}', 7],
    ['unsupported cniVersion', envFor('ADD'), configText('0.2.0'), 1],
    ['bad network name', envFor('DEL'), JSON.stringify({ cniVersion: '1.0.0', name: 'bad name', type: 't' }), 7],
    ['unknown command', envFor('UP'), configText('1.0.0'), 4],
    ['bad container id', envFor('ADD', { CNI_CONTAINERID: '-x' }), configText('1.0.0'), 4],
    ['bad CNI_ARGS', envFor('ADD', { CNI_ARGS: 'x' }), configText('1.0.0'), 4],
  ])('prints the spec error object for %s', async (_what, env, stdin, code) => {
    const out = await runPlugin(untouchable, { env, stdin });
    const error = expectErrorOutput(out, code);
    expect(Object.keys(error).every((key) => ['cniVersion', 'code', 'msg', 'details'].includes(key))).toBe(true);
  });
});
