import type { EndpointRecord } from '@switchyard/core';
import { connectOptionsFrom, portBindingsFrom, resultFromEndpoint, sandboxNameFor } from '../attachment.js';
import { parseConfig, type NetConf } from '../protocol/config.js';
import { parseEnvironment } from '../protocol/env.js';
import { CniError } from '../protocol/errors.js';
import { resultFor, resultProblems } from '../protocol/result.js';
import { SUPPORTED_VERSIONS } from '../protocol/versions.js';

const conf = (extra: Record<string, unknown> = {}): NetConf => parseConfig(JSON.stringify({ cniVersion: '1.1.0', name: 'mynet', type: 'switchyard-bridge', ...extra }), 'ADD');
const env = (args = '') => parseEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_ARGS: args });
const code = (fn: () => unknown): number | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
};

describe('the sandbox a container maps to', () => {
  it('is cni-<id> when that is a valid name, else cni- and a hash of the id, the same every time', () => {
    expect(sandboxNameFor('web-1')).toBe('cni-web-1');
    const long = 'f'.repeat(64);
    expect(sandboxNameFor(long)).toMatch(/^cni-[0-9a-f]{40}$/);
    expect(sandboxNameFor(long)).toBe(sandboxNameFor(long));
    expect(sandboxNameFor(long)).not.toBe(sandboxNameFor('e'.repeat(64)));
    expect(sandboxNameFor('a..b')).toMatch(/^cni-[0-9a-f]{40}$/);
  });
});

describe('capability arguments as connect options', () => {
  it('reads portMappings as CNI portmap does: protocol default tcp, hostIP empty = every address', () => {
    expect(
      portBindingsFrom(
        conf({
          runtimeConfig: {
            portMappings: [
              { hostPort: 8080, containerPort: 80 },
              { hostPort: 5353, containerPort: 53, protocol: 'UDP', hostIP: '127.0.0.1' },
              { hostPort: 9000, containerPort: 9000, protocol: 'sctp', hostIP: '' },
            ],
          },
        }),
      ),
    ).toEqual([
      { protocol: 'tcp', hostPort: 8080, containerPort: 80 },
      { protocol: 'udp', hostPort: 5353, containerPort: 53, hostIp: '127.0.0.1' },
      { protocol: 'sctp', hostPort: 9000, containerPort: 9000 },
    ]);
    expect(portBindingsFrom(conf())).toEqual([]);
  });

  it.each([
    ['not a list', { portMappings: { hostPort: 1 } }],
    ['an entry that is not an object', { portMappings: [8080] }],
    ['a port out of range', { portMappings: [{ hostPort: 0, containerPort: 80 }] }],
    ['a fractional port', { portMappings: [{ hostPort: 80.5, containerPort: 80 }] }],
    ['an unknown protocol', { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'icmp' }] }],
    ['a host IP that is not an address', { portMappings: [{ hostPort: 80, containerPort: 80, hostIP: 'localhost' }] }],
  ])('refuses portMappings with %s (code 7)', (_what, runtimeConfig) => {
    expect(code(() => portBindingsFrom(conf({ runtimeConfig })))).toBe(7);
  });

  it('takes static addresses and the MAC from runtimeConfig, then args.cni, then CNI_ARGS', () => {
    expect(connectOptionsFrom(conf({ runtimeConfig: { ips: ['10.1.0.9/24', 'fd00::9/64'], mac: '02:00:00:00:00:09' } }), env('IP=10.1.0.7'))).toEqual({
      ifname: 'eth0',
      ipv4: '10.1.0.9',
      ipv6: 'fd00::9',
      mac: '02:00:00:00:00:09',
    });
    expect(connectOptionsFrom(conf({ args: { cni: { ips: ['10.1.0.8'] } } }), env('IP=10.1.0.7'))).toEqual({ ifname: 'eth0', ipv4: '10.1.0.8' });
    expect(connectOptionsFrom(conf(), env('IP=10.1.0.7;MAC=02:00:00:00:00:07'))).toEqual({ ifname: 'eth0', ipv4: '10.1.0.7', mac: '02:00:00:00:00:07' });
    expect(connectOptionsFrom(conf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] } }), env())).toEqual({
      ifname: 'eth0',
      portBindings: [{ protocol: 'tcp', hostPort: 8080, containerPort: 80 }],
    });
  });

  it('refuses two addresses of one family, a non-address and a non-string MAC (code 7)', () => {
    expect(code(() => connectOptionsFrom(conf({ runtimeConfig: { ips: ['10.1.0.9', '10.1.0.10'] } }), env()))).toBe(7);
    expect(code(() => connectOptionsFrom(conf({ runtimeConfig: { ips: ['nowhere'] } }), env()))).toBe(7);
    expect(code(() => connectOptionsFrom(conf({ runtimeConfig: { ips: '10.1.0.9' } }), env()))).toBe(7);
    expect(code(() => connectOptionsFrom(conf({ runtimeConfig: { mac: 42 } }), env()))).toBe(7);
  });
});

describe('the ADD result of an endpoint', () => {
  const endpoint: EndpointRecord = {
    id: 'e1',
    name: 'cni-abc.mynet',
    networkId: 'n1',
    networkName: 'mynet',
    sandboxId: 's1',
    ifname: 'eth0',
    mac: '02:00:00:00:00:05',
    ipv4: '10.1.0.5/24',
    ipv6: 'fd00::5/64',
    gateway4: '10.1.0.1',
    gateway6: 'fd00::1',
    aliases: [],
    portBindings: [],
    gatewayPriority: 0,
    routing: { v4: true, v6: true, gateway4: '10.1.0.1', gateway6: 'fd00::1', connected: false, onlink: false },
    providesDefaultRoute: true,
    driverState: {},
    createdAt: '2026-12-04T00:00:00.000Z',
  };

  it('lists the host side first, then the container interface its addresses point at, with default routes; valid in every version', () => {
    const result = resultFromEndpoint(endpoint, '/run/netns/x', [{ name: 'cni0', mac: '02:00:00:00:00:01' }], { nameservers: ['10.1.0.1'] });
    expect(result).toEqual({
      interfaces: [
        { name: 'cni0', mac: '02:00:00:00:00:01' },
        { name: 'eth0', mac: '02:00:00:00:00:05', sandbox: '/run/netns/x' },
      ],
      ips: [
        { address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 1 },
        { address: 'fd00::5/64', gateway: 'fd00::1', interface: 1 },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.1.0.1' },
        { dst: '::/0', gw: 'fd00::1' },
      ],
      dns: { nameservers: ['10.1.0.1'] },
    });
    for (const version of SUPPORTED_VERSIONS) expect(resultProblems(resultFor(result, version), version)).toEqual([]);
  });

  it('has no default route for an endpoint that does not provide it', () => {
    expect(resultFromEndpoint({ ...endpoint, providesDefaultRoute: false }, '/run/netns/x').routes).toBeUndefined();
  });
});
