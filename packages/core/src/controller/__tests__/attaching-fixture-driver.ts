import { defineDriver, type DriverManifest } from '../../registry/plugin.js';
import { SwitchyardError } from '../../errors/switchyard-error.js';
import type { JsonObject } from '../../model/types.js';
import { HOST_NS, type Kernel } from '../../spi/kernel.js';
import type { DriverNetwork, NetworkDriver } from '../../spi/network-driver.js';

/** What the attaching fixture did, in order (`attach eth0`, `detach eth0`, `detach eth0 outside`, `collect <id>`). */
export interface AttachingControls {
  calls: string[];
  /** Make the next detach throw once (a process that dies before it can undo). */
  failNextDetach?: boolean;
}

/**
 * A driver that attaches endpoints itself, as a CNI plugin does: it changes the kernel through the port
 * it was given and allocates from its own subnet, 10.99.0.0/24 (gateway .1 on a bridge per network).
 */
export function attachingFixtureDriver(controls: AttachingControls = { calls: [] }, type = 'attaching'): DriverManifest {
  const held = new Map<string, Map<string, string>>();
  const heldIn = (n: DriverNetwork) => held.get(n.id) ?? held.set(n.id, new Map()).get(n.id)!;
  const bridge = (n: DriverNetwork) => `fab${n.id.slice(0, 8)}`;
  const hostEnd = (id: string) => `fa${id.slice(0, 8)}`;
  const unplanned = () => {
    throw new SwitchyardError('SWY_ERR_NOT_IMPLEMENTED', 'the attaching fixture attaches endpoints itself');
  };
  let kernel: Kernel | undefined;
  const port = (): Kernel => {
    if (!kernel) throw new Error('attaching fixture: create() was not called');
    return kernel;
  };
  const release = async (n: DriverNetwork, id: string) => {
    await port().apply([{ ns: HOST_NS, op: { op: 'link.del', name: hostEnd(id), ifExists: true } }]);
    heldIn(n).delete(id);
  };
  const driver: NetworkDriver = {
    type,
    capability: { dataScope: 'local', connectivityScope: 'local' },
    validateNetworkOptions(options: JsonObject) {
      for (const key of Object.keys(options)) throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `unknown option ${key}`, { hint: 'The attaching fixture takes no options.' });
      return options;
    },
    async createNetwork(n) {
      return {
        steps: [
          { op: 'link.add', kind: 'bridge', name: bridge(n) },
          { op: 'addr.add', dev: bridge(n), cidr: '10.99.0.1/24' },
          { op: 'link.set', name: bridge(n), up: true },
        ],
      };
    },
    async deleteNetwork(n) {
      return { steps: [{ op: 'link.del', name: bridge(n), ifExists: true }] };
    },
    async createEndpoint() {
      return {};
    },
    async deleteEndpoint() {},
    join: async () => unplanned(),
    leave: async () => unplanned(),
    async attach(n, e, sandbox, request) {
      controls.calls.push(`attach ${e.ifname}`);
      const taken = heldIn(n);
      const used = new Set(taken.values());
      let ip = request.ipv4;
      if (ip !== undefined && (!ip.startsWith('10.99.0.') || used.has(ip))) throw new SwitchyardError('SWY_ERR_ADDRESS_IN_USE', `the attaching fixture cannot give ${ip}`);
      for (let i = 2; ip === undefined && i < 255; i++) if (!used.has(`10.99.0.${i}`)) ip = `10.99.0.${i}`;
      if (ip === undefined) throw new SwitchyardError('SWY_ERR_POOL_EXHAUSTED', 'the attaching fixture has no address left');
      taken.set(e.id, ip);
      try {
        await port().apply([
          { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: hostEnd(e.id), peer: { name: e.ifname, netns: sandbox.netns, ...(e.mac ? { mac: e.mac } : {}) } } },
          { ns: HOST_NS, op: { op: 'link.set', name: hostEnd(e.id), master: bridge(n), up: true } },
          { ns: sandbox.netns, op: { op: 'addr.add', dev: e.ifname, cidr: `${ip}/24` } },
          { ns: sandbox.netns, op: { op: 'link.set', name: e.ifname, up: true } },
        ]);
      } catch (error) {
        // The kernel port undid the steps that ran; the address goes back too.
        taken.delete(e.id);
        throw error;
      }
      const mac = (await port().listLinks(sandbox.netns)).find((l) => l.name === e.ifname)?.mac;
      return { ipv4: `${ip}/24`, gateway4: '10.99.0.1', ...(mac ? { mac } : {}), state: { hostEnd: hostEnd(e.id) } };
    },
    async detach(n, e, sandbox) {
      controls.calls.push(`detach ${e.ifname}${sandbox ? '' : ' outside'}`);
      if (controls.failNextDetach) {
        controls.failNextDetach = false;
        throw new Error('process died before detach');
      }
      await release(n, e.id);
    },
    async collectEndpoints(n, live) {
      const stale = [...heldIn(n).keys()].filter((id) => !live.some((e) => e.id === id));
      for (const id of stale) {
        controls.calls.push(`collect ${id.slice(0, 8)}`);
        await release(n, id);
      }
      return stale.map((id) => `${n.name}/${id.slice(0, 8)}`);
    },
  };
  return defineDriver({
    apiVersion: 1,
    type,
    version: '1.0.0',
    capability: driver.capability,
    create: (deps) => {
      kernel = deps.kernel;
      return driver;
    },
  });
}
