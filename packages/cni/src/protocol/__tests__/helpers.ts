// Shared by the protocol tests: the CniError assertion, the output checks, sample configs and results.
import { CniError } from '../errors.js';
import type { CniResult } from '../result.js';
import type { PluginOutput } from '../run.js';
import { SUPPORTED_VERSIONS } from '../versions.js';

/** Runs `action`, expects it to throw a CniError with `code` (and a msg matching `msg`), and returns the error. */
export function expectCniError(action: () => unknown, code: number, msg?: string | RegExp): CniError {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(CniError);
  const error = thrown as CniError;
  expect({ code: error.code, msg: error.msg }).toEqual({ code, msg: msg === undefined ? error.msg : expect.stringMatching(msg) });
  return error;
}

/** Matches exactly one of the supported versions. */
export const SUPPORTED_VERSION_PATTERN = new RegExp(`^(${SUPPORTED_VERSIONS.map((v) => v.replaceAll('.', '\\.')).join('|')})$`);

/** The error result runPlugin printed: exit code 1, exactly the spec's keys, the right types. */
export function expectErrorOutput(output: PluginOutput, code?: number, cniVersion?: string): { cniVersion: string; code: number; msg: string; details?: string } {
  expect(output.exitCode).toBe(1);
  const parsed: unknown = JSON.parse(output.stdout);
  expect(parsed).toEqual({
    cniVersion: cniVersion ?? expect.stringMatching(SUPPORTED_VERSION_PATTERN),
    code: code ?? expect.any(Number),
    msg: expect.any(String),
    ...(typeof parsed === 'object' && parsed !== null && 'details' in parsed ? { details: expect.any(String) } : {}),
  });
  return parsed as { cniVersion: string; code: number; msg: string; details?: string };
}

/** A full environment for `command`, with `overrides` applied (undefined deletes a variable). */
export function envFor(command: string, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c0ffee-01',
    CNI_NETNS: '/run/netns/test',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'K8S_POD_NAME=web-0;IgnoreUnknown=1',
    CNI_PATH: '/opt/cni/bin:/usr/libexec/cni',
    ...overrides,
  };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return env;
}

/** A plugin config of `cniVersion` with `extra` keys, as stdin text. */
export function configText(cniVersion: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ cniVersion, name: 'testnet', type: 'switchyard-bridge', ...extra });
}

/** A 1.1.0-form result using every field of every structure. */
export function fullResult(): CniResult {
  return {
    interfaces: [
      { name: 'syb0', mac: '0a:58:0a:01:00:01', mtu: 1500 },
      { name: 'eth0', mac: '0a:58:0a:01:00:05', mtu: 1500, sandbox: '/run/netns/test', socketPath: '/run/vhost.sock', pciID: '0000:00:1f.6' },
    ],
    ips: [
      { address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 1 },
      { address: 'fd00:1::5/64', gateway: 'fd00:1::1', interface: 1 },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1', mtu: 1400, advmss: 1360, priority: 100, table: 254, scope: 0 }, { dst: '::/0' }],
    dns: { nameservers: ['10.1.0.1', 'fd00:1::1'], domain: 'cluster.local', search: ['svc.cluster.local'], options: ['ndots:5'] },
  };
}
