import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SwitchyardError } from '../../errors/switchyard-error.js';
import { createTestSwitchyard, type TestSwitchyard } from '../../testing/test-switchyard.js';
import type { DriverManifest } from '../../registry/plugin.js';
import type { NetworkRecord } from '../../model/types.js';
import type { DnsService, DnsStatus } from '../../spi/dns.js';
import type { Logger } from '../../registry/logger.js';
import { fixtureDriver } from './fixture-driver.js';

// How the controller uses a DnsService: which networks get DNS, what it asks of the service after a
// connect, a disconnect, a network or sandbox removal and on recovery, and what sandboxes get as name servers.

/** A DnsService that records what it is asked (and can be made to fail). */
class RecordingDns implements DnsService {
  calls: string[] = [];
  failServe = false;
  serve(networks: readonly NetworkRecord[]): Promise<void> {
    this.calls.push(`serve ${networks.map((n) => n.name).join(',')}`);
    return this.failServe ? Promise.reject(new SwitchyardError('SWY_ERR_DNS_UNAVAILABLE', 'responder would not start', { hint: 'test' })) : Promise.resolve();
  }
  refresh(): Promise<void> {
    this.calls.push('refresh');
    return Promise.resolve();
  }
  revive(): Promise<void> {
    this.calls.push('revive');
    return Promise.resolve();
  }
  status(): Promise<DnsStatus> {
    return Promise.resolve({ state: 'stopped', networks: [], upstreams: [] });
  }
}

/** The fixture driver as one whose host holds the gateway (a bridge-like driver). */
const gatewayDriver = (): DriverManifest => fixtureDriver({ calls: [] }, 'gw', { hostGateway: true });

const warnings: string[] = [];
const logger: Logger = { debug: () => undefined, info: () => undefined, warn: (m: string) => void warnings.push(m) };
let sy: TestSwitchyard;
let dns: RecordingDns;

beforeEach(async () => {
  dns = new RecordingDns();
  warnings.length = 0;
  sy = await createTestSwitchyard([gatewayDriver(), fixtureDriver({ calls: [] }, 'nogw')], { dns, logger });
});
afterEach(() => sy.dispose());

const resolvConf = async (sandbox: string) => readFileSync(join((await sy.controller.inspectSandbox(sandbox)).filesDir as string, 'resolv.conf'), 'utf8');

test('a network whose host holds the gateway gets DNS by default; others do not, and dns: false is kept', async () => {
  expect((await sy.controller.createNetwork({ name: 'a', driver: 'gw', ipam: { ipv4: [{ subnet: '10.61.1.0/24' }] } })).dns).toBe(true);
  expect((await sy.controller.createNetwork({ name: 'b', driver: 'nogw', ipam: { ipv4: [{ subnet: '10.61.2.0/24' }] } })).dns).toBe(false);
  expect((await sy.controller.createNetwork({ name: 'c', driver: 'gw', dns: false, ipam: { ipv4: [{ subnet: '10.61.3.0/24' }] } })).dns).toBe(false);
});

test('dns: true where the host has no address on the network is SWY_ERR_DNS_UNSUPPORTED, before anything is made', async () => {
  const before = sy.fake.snapshot();
  const err = await sy.controller.createNetwork({ name: 'b', driver: 'nogw', dns: true }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'SWY_ERR_DNS_UNSUPPORTED' });
  expect((err as { hint: string }).hint).toMatch(/bridge or veth/);
  expect(sy.fake.snapshot()).toEqual(before);
  expect(await sy.controller.listNetworks()).toEqual([]);
  expect(sy.ipam.poolCount()).toBe(0);
});

test('a network whose plan says the host holds no gateway (a bridge with isGateway off) gets no DNS, and dns: true is refused with nothing left', async () => {
  const off = await sy.controller.createNetwork({ name: 'a', driver: 'gw', options: { hostGateway: false }, ipam: { ipv4: [{ subnet: '10.61.4.0/24' }] } });
  expect(off.dns).toBe(false);
  await sy.controller.createSandbox({ name: 's' });
  await sy.controller.connect('a', 's');
  expect(dns.calls).toEqual([]);
  expect(warnings).toEqual([]);
  expect(await resolvConf('s')).not.toContain('10.61.4.1');

  const before = sy.fake.snapshot();
  const pools = sy.ipam.poolCount();
  const err = await sy.controller.createNetwork({ name: 'b', driver: 'gw', dns: true, options: { hostGateway: false }, ipam: { ipv4: [{ subnet: '10.61.5.0/24' }] } }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'SWY_ERR_DNS_UNSUPPORTED' });
  expect((err as { hint: string }).hint).toMatch(/isGateway=false/);
  expect(sy.fake.snapshot()).toEqual(before);
  expect((await sy.controller.listNetworks()).map((n) => n.name)).toEqual(['a']);
  expect(sy.ipam.poolCount()).toBe(pools);
});

test('without a DnsService, networks default to no DNS and dns: true is SWY_ERR_DNS_UNAVAILABLE', async () => {
  const plain = await createTestSwitchyard([gatewayDriver()]);
  try {
    expect((await plain.controller.createNetwork({ name: 'a', driver: 'gw' })).dns).toBe(false);
    await expect(plain.controller.createNetwork({ name: 'b', driver: 'gw', dns: true })).rejects.toMatchObject({ code: 'SWY_ERR_DNS_UNAVAILABLE' });
  } finally {
    await plain.dispose();
  }
});

test('a connect to a network with DNS asks the service to serve it and makes its gateway the name server; a disconnect asks it to look again', async () => {
  await sy.controller.createNetwork({ name: 'a', driver: 'gw', ipam: { ipv4: [{ subnet: '10.61.1.0/24' }] } });
  await sy.controller.createNetwork({ name: 'b', driver: 'nogw', ipam: { ipv4: [{ subnet: '10.61.2.0/24' }] } });
  await sy.controller.createSandbox({ name: 's' });
  const hostResolv = await resolvConf('s');
  expect(hostResolv).not.toContain('10.61.1.1');

  await sy.controller.connect('b', 's');
  expect(dns.calls).toEqual([]);
  expect(await resolvConf('s')).toBe(hostResolv);

  const ep = await sy.controller.connect('a', 's');
  expect(ep.dnsServers).toEqual(['10.61.1.1']);
  expect(dns.calls).toEqual(['serve a']);
  expect(await resolvConf('s')).toMatch(/^nameserver 10\.61\.1\.1\n/);
  // In place: a bind mount of the file keeps seeing it.
  const inode = (await import('node:fs')).statSync(join((await sy.controller.inspectSandbox('s')).filesDir as string, 'resolv.conf')).ino;

  await sy.controller.disconnect('a', 's');
  expect(dns.calls).toEqual(['serve a', 'refresh']);
  expect(await resolvConf('s')).toBe(hostResolv);
  expect((await import('node:fs')).statSync(join((await sy.controller.inspectSandbox('s')).filesDir as string, 'resolv.conf')).ino).toBe(inode);
});

test("a sandbox's own name servers win over its networks' responders", async () => {
  await sy.controller.createNetwork({ name: 'a', driver: 'gw', ipam: { ipv4: [{ subnet: '10.61.1.0/24' }] } });
  await sy.controller.createSandbox({ name: 's', dns: { nameservers: ['192.0.2.53'] } });
  await sy.controller.connect('a', 's');
  expect(await resolvConf('s')).toBe('nameserver 192.0.2.53\n');
});

test('a responder that cannot start leaves the connect done, with a warning naming the code', async () => {
  await sy.controller.createNetwork({ name: 'a', driver: 'gw', ipam: { ipv4: [{ subnet: '10.61.1.0/24' }] } });
  await sy.controller.createSandbox({ name: 's' });
  dns.failServe = true;
  const ep = await sy.controller.connect('a', 's');
  expect((await sy.controller.inspectSandbox('s')).endpoints.map((e) => e.id)).toEqual([ep.id]);
  expect(warnings.join('\n')).toMatch(/DNS for network "a" is not answering \(SWY_ERR_DNS_UNAVAILABLE\): responder would not start/);
});

test('removing a sandbox or a network with DNS asks the service to look again; recovery asks it to revive', async () => {
  await sy.controller.createNetwork({ name: 'a', driver: 'gw', ipam: { ipv4: [{ subnet: '10.61.1.0/24' }] } });
  await sy.controller.createSandbox({ name: 's' });
  await sy.controller.connect('a', 's');
  await sy.controller.deleteSandbox('s');
  await sy.controller.deleteNetwork('a');
  await sy.controller.recover();
  expect(dns.calls).toEqual(['serve a', 'refresh', 'refresh', 'revive']);
});
