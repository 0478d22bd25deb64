// switchyard-driver-ptp-lite: a point-to-point network driver, written as a third party writes one.
// Each endpoint gets its own veth pair; the host end carries the network's gateway address as a /32
// and a /32 route back to the endpoint, so every packet between containers is routed by the host
// (which therefore needs IPv4 forwarding on, `net.ipv4.ip_forward=1`, as Docker hosts have).
import { defineDriver, SwitchyardError, type DriverNetwork, type JsonObject, type NetworkDriver } from '@switchyard/core';

const TYPE = 'ptp-lite';

/** Host end of an endpoint's pair: `ptl` + 8 hex digits of the endpoint id (fits IFNAMSIZ, unique per endpoint). */
export const hostEndName = (endpointId: string): string => `ptl${endpointId.slice(0, 8)}`;
/** The sandbox end as created; core renames it to the endpoint's ifname (eth0, …). */
const sandboxEndName = (endpointId: string): string => `ptc${endpointId.slice(0, 8)}`;

/** The address without its prefix length. */
const bare = (cidr: string): string => cidr.split('/')[0] ?? cidr;

function gatewayOf(network: DriverNetwork): string {
  const gateway = network.ipv4?.gateway;
  if (gateway === undefined) {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Network ${network.name} has no IPv4 gateway, and ${TYPE} routes every endpoint through it`, {
      hint: 'Give the network an IPv4 subnet with a gateway (the IPAM default reserves the first address).',
    });
  }
  return gateway;
}

function validateOptions(options: JsonObject): JsonObject {
  for (const key of Object.keys(options)) {
    if (key !== 'mtu') {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `${TYPE} has no option "${key}"`, { hint: 'The only option is mtu (68-65535).' });
    }
  }
  const mtu = options.mtu;
  if (mtu !== undefined && (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `${TYPE} option mtu must be an integer from 68 to 65535, not ${JSON.stringify(mtu)}`, {
      hint: 'Leave mtu out to use the kernel default (1500).',
    });
  }
  return mtu === undefined ? {} : { mtu };
}

function createPtpLiteDriver(): NetworkDriver {
  return {
    type: TYPE,
    capability: { dataScope: 'local', connectivityScope: 'local' },
    validateNetworkOptions: validateOptions,

    // Nothing is shared between endpoints, so a network is only a check that routing can work.
    async createNetwork(network) {
      if (network.ipv6 !== undefined) {
        throw new SwitchyardError('SWY_ERR_NOT_IMPLEMENTED', `${TYPE} routes IPv4 only`, { hint: 'Create the network without IPv6.' });
      }
      return { steps: [], notes: [`point-to-point: every endpoint routes through ${gatewayOf(network)}`] };
    },
    async deleteNetwork() {
      return { steps: [] };
    },

    async createEndpoint(network, endpoint) {
      gatewayOf(network);
      if (endpoint.ipv4 === undefined) {
        throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Endpoint ${endpoint.id.slice(0, 12)} has no IPv4 address`, {
          hint: `${TYPE} needs IPAM to assign each endpoint an IPv4 address.`,
        });
      }
      return {};
    },
    async deleteEndpoint() {},

    async join(network, endpoint, sandbox) {
      const gateway = gatewayOf(network);
      const host = hostEndName(endpoint.id);
      const mtu = typeof network.options.mtu === 'number' ? network.options.mtu : undefined;
      const mtuField = mtu === undefined ? {} : { mtu };
      return {
        hostSteps: [
          // The peer is born inside the sandbox: it never appears in the host namespace.
          { op: 'link.add', kind: 'veth', name: host, ...mtuField, peer: { name: sandboxEndName(endpoint.id), netns: sandbox.netns, ...mtuField } },
          { op: 'addr.add', dev: host, cidr: `${gateway}/32` },
          { op: 'link.set', name: host, up: true },
          { op: 'route.add', dst: `${bare(endpoint.ipv4 ?? '')}/32`, dev: host, scope: 'link' },
        ],
        srcName: sandboxEndName(endpoint.id),
        srcInSandbox: true,
        ...(network.internal ? { disableGateway: true } : { gateway4: gateway }),
        // The gateway is reachable on-link; everything else, the own subnet included, goes through it.
        staticRoutes: [{ dst: `${gateway}/32` }],
        noPrefixRoute: true,
        ...mtuField,
      };
    },

    // Deleting the host end deletes its peer and the /32 route with it.
    async leave(_network, endpoint) {
      return { hostSteps: [{ op: 'link.del', name: hostEndName(endpoint.id), ifExists: true }] };
    },
  };
}

export default defineDriver({
  apiVersion: 1,
  type: TYPE,
  version: '0.1.0',
  capability: { dataScope: 'local', connectivityScope: 'local' },
  description: 'Point-to-point veth per endpoint, routed through the host (IPv4)',
  create: () => createPtpLiteDriver(),
});
