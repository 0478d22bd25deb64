import fc from 'fast-check';
import { GC_ATTACHMENTS_KEY, GC_ATTACHMENTS_SPEC_KEY, parseConfig } from '../config.js';
import { CNI_COMMANDS, parseEnvironment } from '../env.js';
import { CniError } from '../errors.js';
import { resultFor, resultProblems, type CniResult } from '../result.js';
import { runPlugin, type PluginHandlers, type PluginOutput } from '../run.js';
import { isSupportedVersion, SUPPORTED_VERSIONS } from '../versions.js';
import { fullResult, SUPPORTED_VERSION_PATTERN } from './helpers.js';

/**
 * Hostile environments and stdin through runPlugin with trivial handlers: whatever comes in, the output is
 * exit 0 with '' or a valid JSON answer (a VERSION answer, or a result valid for the version it names), or
 * exit 1 with exactly the spec error object (a supported cniVersion, a numeric code, a string msg).
 */

const RUNS = 3000;

/** Pieces that break parsers, names and the CNI_ARGS / CNI_PATH splitting. */
const fragment = fc.constantFrom(
  ...['', ' ', '\t', '\n', '\r', '\0', '\v', '\f', '\u0085', '\u00a0', '\u2028', '\ufeff', 'à', 'é', '名', '😀', '\ud800', '.', '..', '/', '\\', ':', '::', ';', ';;', '='],
  ...['==', 'a=b', 'a=b;c', '=x', '%eth0', '-', '_', '__proto__', 'constructor', 'toString', 'ADD', 'add', 'VERSION', 'eth0', 'c0ffee', '/run/netns/x', '/opt/cni/bin'],
  ...['{', '}', '[', ']', '"', 'null', '0', '-1', '1e400', 'NaN', '1.1.0', '0.4.0', 'x'.repeat(16), 'a'.repeat(300)],
);
// Any code point, lone surrogates included (built from integers: the 'binary' string unit is slow to set up).
const codePoint = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xffff }), fc.integer({ min: 0x10000, max: 0x10ffff })).map((cp) => String.fromCodePoint(cp));
const hostileText = fc.oneof(
  fragment,
  fc.array(fc.oneof(fragment, fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')),
  fc.array(codePoint, { maxLength: 20 }).map((cps) => cps.join('')),
);

/** A variable that is usually plausible, sometimes hostile, sometimes unset. */
const variable = (...plausible: string[]) => fc.option(fc.oneof({ arbitrary: fc.constantFrom(...plausible), weight: 3 }, { arbitrary: hostileText, weight: 1 }), { nil: undefined, freq: 8 });

const envArb = fc.record({
  CNI_COMMAND: fc.option(fc.oneof({ arbitrary: fc.constantFrom(...CNI_COMMANDS), weight: 6 }, { arbitrary: hostileText, weight: 1 }), { nil: undefined, freq: 20 }),
  CNI_CONTAINERID: variable('c0ffee-01', 'a', '3f6940ab5ab4'),
  CNI_NETNS: variable('/run/netns/test', '/proc/1/ns/net'),
  CNI_IFNAME: variable('eth0', 'net1', 'a'.repeat(15)),
  CNI_ARGS: variable('', 'K8S_POD_NAME=web-0;IgnoreUnknown=1', 'A=b=c;'),
  CNI_PATH: variable('/opt/cni/bin', '/a::/b'),
});

const versionArb = fc.oneof(
  { arbitrary: fc.constantFrom(...SUPPORTED_VERSIONS), weight: 6 },
  { arbitrary: fc.constantFrom('0.1.0', '0.2.0', '0.3.0', '2.0.0', '1.1', '', 'v1.0.0'), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 1 }), weight: 1 },
);
const jsonArb = fc.jsonValue({ maxDepth: 3 });

/** A result of `version` (or of 1.1.0 for a version that is not one), maybe broken in one place. */
function prevResultFor(version: unknown, edit: [string, unknown] | undefined): Record<string, unknown> {
  const result: Record<string, unknown> = JSON.parse(JSON.stringify(resultFor(fullResult(), isSupportedVersion(version) ? version : '1.1.0')));
  if (edit !== undefined) result[edit[0]] = edit[1];
  return result;
}

/** A plausible config (with a prevResult of its own version, or another one, or none), then up to three fields replaced by anything or removed. */
const KEYS = ['cniVersion', 'name', 'type', 'ipam', 'dns', 'runtimeConfig', 'args', 'prevResult', GC_ATTACHMENTS_KEY, GC_ATTACHMENTS_SPEC_KEY, '__proto__', 'constructor'];
const editedConfig = fc
  .record({
    cniVersion: versionArb,
    prevResult: fc.oneof({ arbitrary: fc.constant('own'), weight: 3 }, { arbitrary: fc.constant('none'), weight: 2 }, { arbitrary: fc.constantFrom(...SUPPORTED_VERSIONS), weight: 1 }),
    prevEdit: fc.option(fc.tuple(fc.constantFrom('interfaces', 'ips', 'routes', 'dns', 'cniVersion', 'extra'), jsonArb), { nil: undefined, freq: 3 }),
    edits: fc.oneof(fc.constant([]), fc.array(fc.tuple(fc.constantFrom(...KEYS), fc.option(fc.oneof(jsonArb, hostileText), { nil: undefined })), { minLength: 1, maxLength: 3 })),
  })
  .map(({ cniVersion, prevResult, prevEdit, edits }) => {
    const config: Record<string, unknown> = { cniVersion, name: 'testnet', type: 'switchyard-bridge', ipam: { type: 'host-local' }, [GC_ATTACHMENTS_KEY]: [{ containerID: 'c0ffee-01', ifname: 'eth0' }] };
    if (prevResult !== 'none') config.prevResult = prevResultFor(prevResult === 'own' ? cniVersion : prevResult, prevEdit);
    for (const [key, value] of edits) {
      if (value === undefined) delete config[key];
      else Object.defineProperty(config, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return JSON.stringify(config);
  });

const stdinArb = fc.oneof({ arbitrary: editedConfig, weight: 6 }, { arbitrary: fc.json({ maxDepth: 3 }), weight: 1 }, { arbitrary: hostileText, weight: 1 }, { arbitrary: fc.constant(''), weight: 1 });

/** Trivial handlers: ADD echoes the prevResult or a fixed result; some throw; STATUS and GC may be absent. */
const handlersArb = fc
  .record({ failure: fc.constantFrom('none', 'none', 'none', 'cni', 'error', 'string'), status: fc.boolean(), gc: fc.boolean(), versions: fc.subarray([...SUPPORTED_VERSIONS], { minLength: 1 }) })
  .map(({ failure, status, gc, versions }) => {
    const outcome = async (): Promise<void> => {
      if (failure === 'cni') throw new CniError(3, 'container unknown');
      if (failure === 'error') throw new Error('handler failed');
      if (failure === 'string') throw 'thrown string'; // eslint-disable-line @typescript-eslint/only-throw-error -- a plugin may throw anything
    };
    const handlers: PluginHandlers = {
      add: async (ctx): Promise<CniResult> => {
        await outcome();
        return ctx.prevResult ?? fullResult();
      },
      del: outcome,
      check: outcome,
      supportedVersions: versions,
    };
    if (status) handlers.status = outcome;
    if (gc) handlers.gc = outcome;
    return handlers;
  });

/** The invariant: a well-formed success, or exactly the spec error object. */
function expectSpecOutput(output: PluginOutput): void {
  expect([0, 1]).toContain(output.exitCode);
  if (output.exitCode === 0 && output.stdout === '') return;
  const parsed: Record<string, unknown> = JSON.parse(output.stdout);
  if (output.exitCode === 1) {
    expect(parsed).toEqual({
      cniVersion: expect.stringMatching(SUPPORTED_VERSION_PATTERN),
      code: expect.any(Number),
      msg: expect.any(String),
      ...('details' in parsed ? { details: expect.any(String) } : {}),
    });
    expect(Number.isInteger(parsed.code) && (parsed.code as number) >= 0).toBe(true);
  } else if ('supportedVersions' in parsed) {
    expect(parsed).toEqual({ cniVersion: expect.stringMatching(SUPPORTED_VERSION_PATTERN), supportedVersions: expect.arrayContaining([parsed.cniVersion]) });
  } else {
    expect(resultProblems(parsed, String(parsed.cniVersion))).toEqual([]);
  }
}

describe('runPlugin on hostile input', () => {
  it('always prints a valid answer or a spec error object', async () => {
    await fc.assert(
      fc.asyncProperty(envArb, stdinArb, handlersArb, async (env, stdin, handlers) => {
        expectSpecOutput(await runPlugin(handlers, { env, stdin }));
      }),
      { numRuns: RUNS },
    );
  });

  it('always prints a valid answer or a spec error object for a well-formed environment of every command', async () => {
    const wellFormedEnv = fc.constantFrom(...CNI_COMMANDS).map((command) => ({ CNI_COMMAND: command, CNI_CONTAINERID: 'c0ffee-01', CNI_NETNS: '/run/netns/test', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' }));
    await fc.assert(
      fc.asyncProperty(wellFormedEnv, stdinArb, handlersArb, async (env, stdin, handlers) => {
        expectSpecOutput(await runPlugin(handlers, { env, stdin }));
      }),
      { numRuns: RUNS },
    );
  });

  it('reaches success for most plausible inputs, so the property above is not all errors', async () => {
    const outcomes = await Promise.all(
      fc
        .sample(fc.tuple(editedConfig, fc.constantFrom('ADD', 'DEL')), { numRuns: 300, seed: 42 })
        .map(([stdin, command]) =>
          runPlugin(
            { add: async () => fullResult(), del: async () => undefined, check: async () => undefined },
            { env: { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/n', CNI_IFNAME: 'eth0', CNI_PATH: '/b' }, stdin },
          ),
        ),
    );
    expect(outcomes.filter((o) => o.exitCode === 0).length).toBeGreaterThan(50);
  });
});

/** What `action` throws, or undefined. */
function thrownBy(action: () => void): unknown {
  try {
    action();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('parsers on hostile input', () => {
  it('parseEnvironment returns an environment or throws CniError 4, nothing else', () => {
    fc.assert(
      fc.property(envArb, (env) => {
        const thrown = thrownBy(() => expect(CNI_COMMANDS).toContain(parseEnvironment(env).command));
        expect(thrown === undefined || (thrown instanceof CniError && thrown.code === 4)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('parseConfig returns a config or throws CniError 1, 6 or 7, nothing else', () => {
    fc.assert(
      fc.property(stdinArb, fc.constantFrom(...CNI_COMMANDS), (stdin, command) => {
        const thrown = thrownBy(() => expect(typeof parseConfig(stdin, command)).toBe('object'));
        expect(thrown === undefined || (thrown instanceof CniError && [1, 6, 7].includes(thrown.code))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
