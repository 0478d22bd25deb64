import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ping, requireLab } from '@switchyard/core/testing';
import { CniLab, netns, sh } from './cni-harness.js';

/**
 * The crash matrix for the CNI plugins, on the real kernel: a plugin process SIGKILLed at every fault
 * point an ADD or a DEL reaches (SWITCHYARD_FAULT_POINT), as a runtime would see a plugin crash or an
 * OOM kill. The runtime then does what the spec asks of it (DEL after a failed ADD; DEL again after a
 * failed DEL), and that must leave nothing: no sandbox, endpoint, address, port rule or link; and the
 * same container can be attached again afterwards and moves traffic.
 */
let lab: CniLab;
const conf = {
  cniVersion: '1.0.0',
  name: 'cnik',
  type: 'switchyard-bridge',
  bridge: 'cnik0',
  isGateway: true,
  ipMasq: true,
  capabilities: { portMappings: true },
  runtimeConfig: { portMappings: [{ hostPort: 18130, containerPort: 80 }] },
  ipam: { type: 'host-local', subnet: '10.129.0.0/24' },
};
const at = { id: 'k1', netns: '/run/netns/cnik1', ifname: 'eth0' };

/** The fault points one command reaches, in order, from a run with SWITCHYARD_FAULT_TRACE. */
function traced(command: 'ADD' | 'DEL'): string[] {
  const trace = join(lab.dir, `trace-${command}`);
  const out = lab.cni('switchyard-bridge', command, conf, at, { SWITCHYARD_FAULT_TRACE: trace });
  if (out.status !== 0) throw new Error(`${command} failed while tracing: ${out.stdout}${out.stderr}`);
  const points = [...new Set(readFileSync(trace, 'utf8').split('\n').filter(Boolean))];
  rmSync(trace);
  return points;
}

/** Nothing of the container's attachment: store, IPAM files, port maps, links in its netns and on the host. */
function expectClean(): void {
  expect(lab.leftovers('cnik')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
  expect(sh('ip', '-n', 'cnik1', '-o', 'link')).not.toContain('eth0');
  expect(sh('ip', '-o', 'link')).not.toMatch(/syb[0-9a-f]+/);
}

/**
 * For each point: `before` (if any), then `command` SIGKILLed there, then the DEL a runtime sends next,
 * which must succeed; returns the points after which something was left (expectClean failed).
 */
function killedAt(points: readonly string[], command: 'ADD' | 'DEL', before?: () => void): string[] {
  const failures: string[] = [];
  for (const point of points) {
    before?.();
    const killed = lab.cni('switchyard-bridge', command, conf, at, { SWITCHYARD_FAULT_POINT: point });
    expect([point, killed.signal]).toEqual([point, 'SIGKILL']);
    const del = lab.cni('switchyard-bridge', 'DEL', conf, at);
    expect([point, del.status, del.stdout]).toEqual([point, 0, '']);
    try {
      expectClean();
    } catch (error) {
      failures.push(`${point}: ${String(error)}`);
    }
  }
  return failures;
}

let addPoints: string[] = [];
let delPoints: string[] = [];

beforeAll(() => {
  requireLab();
  lab = new CniLab();
  netns('cnik1');
  // The first ADD also creates the network: trace it on a fresh state dir, as the scenarios run.
  addPoints = traced('ADD');
  delPoints = traced('DEL');
  lab.switchyard('network', 'rm', 'cnik');
});

afterAll(() => {
  spawnSync('ip', ['netns', 'del', 'cnik1']);
  lab.dispose(['cnik']);
});

describe('a CNI plugin killed inside ADD or DEL', () => {
  it('reaches the fault points of network create, sandbox create and connect in ADD, and of disconnect and sandbox delete in DEL', () => {
    expect(addPoints).toEqual(expect.arrayContaining(['network.create:committed', 'sandbox.create:committed', 'connect:address-allocated', 'connect:firewall-applied', 'connect:committed']));
    expect(delPoints).toEqual(expect.arrayContaining(['disconnect:kernel-removed', 'disconnect:released', 'sandbox.delete:record-deleted']));
  });

  it('ADD killed at each point, then the runtime DEL: nothing is left, and a new ADD works', async () => {
    const failures = killedAt(addPoints, 'ADD');
    expect(failures).toEqual([]);
    const add = lab.cni('switchyard-bridge', 'ADD', conf, at);
    expect(add.status).toBe(0);
    expect(await ping({ kind: 'named', name: 'cnik1' }, '10.129.0.1')).toBe(true);
    expect(lab.cni('switchyard-bridge', 'DEL', conf, at).status).toBe(0);
    expectClean();
  });

  it('DEL killed at each point, then the runtime DEL again: nothing is left', () => {
    const failures = killedAt(delPoints, 'DEL', () => expect(lab.cni('switchyard-bridge', 'ADD', conf, at).status).toBe(0));
    expect(failures).toEqual([]);
  });

  it('GC after a simulated reboot (the container netns gone, the bridge gone) frees the addresses of gone containers and keeps the valid one', async () => {
    netns('cnik2');
    netns('cnik3');
    const a2 = { id: 'k2', netns: '/run/netns/cnik2', ifname: 'eth0' };
    const a3 = { id: 'k3', netns: '/run/netns/cnik3', ifname: 'eth0' };
    const plain = { ...conf, runtimeConfig: {} };
    expect(lab.cni('switchyard-bridge', 'ADD', plain, a2).status).toBe(0);
    expect(lab.cni('switchyard-bridge', 'ADD', plain, a3).status).toBe(0);
    expect(lab.leftovers('cnik').addresses).toHaveLength(2);
    // A reboot takes the netns of k2 and the bridge; the runtime brings k3 back and lists only it as valid.
    sh('ip', 'netns', 'del', 'cnik2');
    sh('ip', 'link', 'del', 'cnik0');
    const gc = lab.cni('switchyard-bridge', 'GC', { ...plain, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'k3', ifname: 'eth0' }] });
    expect([gc.status, gc.stdout]).toEqual([0, '']);
    const left = lab.leftovers('cnik');
    expect(left.sandboxes).toEqual(['cni-k3']);
    expect(left.addresses).toHaveLength(1);
    expect(lab.cni('switchyard-bridge', 'DEL', plain, a3).status).toBe(0);
    spawnSync('ip', ['netns', 'del', 'cnik3']);
    expect(lab.leftovers('cnik')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
  });
});
