import { defineDriver, type DriverManifest } from '../../registry/plugin.js';
import { SwitchyardError } from '../../errors/switchyard-error.js';
import type { JsonObject } from '../../model/types.js';
import type { DriverCapability, DriverNetwork, NetworkDriver } from '../../spi/network-driver.js';

export interface FixtureControls {
  /** Make this driver method throw once. */
  failIn?: 'createNetwork' | 'createEndpoint' | 'join' | 'leave' | 'programExternalConnectivity';
  calls: string[];
}

/** A small bridge-like driver for controller tests: a bridge per network, a veth per endpoint moved in by core. */
export function fixtureDriver(controls: FixtureControls = { calls: [] }, type = 'fixture', extra: Pick<DriverCapability, 'hostGateway'> = {}): DriverManifest {
  const fail = (method: NonNullable<FixtureControls['failIn']>) => {
    controls.calls.push(method);
    if (controls.failIn === method) {
      controls.failIn = undefined;
      throw new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', `fixture failure in ${method}`);
    }
  };
  const bridge = (id: string) => `fb${id.slice(0, 8)}`;
  const bridgeOf = (n: DriverNetwork) => (typeof n.state.bridge === 'string' ? n.state.bridge : bridge(n.id));
  const driver: NetworkDriver = {
    type,
    capability: { dataScope: 'local', connectivityScope: 'local', ...extra },
    validateNetworkOptions(options: JsonObject) {
      for (const key of Object.keys(options)) {
        if (key !== 'label' && key !== 'hostGateway') throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `unknown option ${key}`, { hint: 'fixture takes "label" and "hostGateway" only' });
      }
      return options;
    },
    async createNetwork(n) {
      fail('createNetwork');
      return {
        steps: [
          { op: 'link.add', kind: 'bridge', name: bridge(n.id) },
          { op: 'link.set', name: bridge(n.id), up: true },
        ],
        state: { bridge: bridge(n.id) },
        ...(n.options.hostGateway === false ? { hostGateway: false } : {}),
      };
    },
    async deleteNetwork(n) {
      return { steps: [{ op: 'link.del', name: bridgeOf(n), ifExists: true }] };
    },
    async createEndpoint() {
      fail('createEndpoint');
      return {};
    },
    async deleteEndpoint() {
      controls.calls.push('deleteEndpoint');
    },
    async join(n, e) {
      fail('join');
      const host = `fh${e.id.slice(0, 8)}`;
      const peer = `fp${e.id.slice(0, 8)}`;
      return {
        hostSteps: [
          { op: 'link.add', kind: 'veth', name: host, peer: { name: peer } },
          { op: 'link.set', name: host, master: bridgeOf(n), up: true },
        ],
        srcName: peer,
        srcInSandbox: false,
        ...(n.ipv4?.gateway ? { gateway4: n.ipv4.gateway } : {}),
        ...(n.ipv6?.gateway ? { gateway6: n.ipv6.gateway } : {}),
      };
    },
    async programExternalConnectivity(_n, e) {
      fail('programExternalConnectivity');
      controls.calls.push(`program ${e.id.slice(0, 4)}${e.providesDefaultRoute ? ' gw' : ''}`);
    },
    async revokeExternalConnectivity(_n, e) {
      controls.calls.push(`revoke ${e.id.slice(0, 4)}`);
    },
    async leave(_n, e) {
      fail('leave');
      return { hostSteps: [{ op: 'link.del', name: `fh${e.id.slice(0, 8)}`, ifExists: true }] };
    },
  };
  return defineDriver({ apiVersion: 1, type, version: '1.0.0', capability: driver.capability, create: () => driver });
}
