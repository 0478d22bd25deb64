import { SwitchyardError } from '../errors/switchyard-error.js';
import type { NetworkRecord } from '../model/types.js';
import type { NetworkDriver, NetworkPlan } from '../spi/network-driver.js';
import type { DnsService, DnsStatus } from '../spi/dns.js';

/** The DnsService of an instance made without one: nothing runs, networks default to DNS off. */
export const NO_DNS: DnsService = {
  serve: () => Promise.resolve(),
  refresh: () => Promise.resolve(),
  revive: () => Promise.resolve(),
  status: (): Promise<DnsStatus> => Promise.resolve({ state: 'stopped', networks: [], upstreams: [] }),
};

/**
 * The addresses a network's responder listens on (its gateways, IPv4 first), which its sandboxes use as
 * name servers; none when the network has no DNS. (Records read back from disk are not trusted to be well formed.)
 */
export function dnsServersOf(network: NetworkRecord): string[] {
  if (network.dns !== true) return [];
  return [network.ipv4?.gateway, network.ipv6?.gateway].filter((a): a is string => typeof a === 'string' && a !== '');
}

/** Refuses `dns: true` on a network the host holds no address of, before anything is made. */
export function assertDnsPossible(name: string, wanted: boolean | undefined, driver: NetworkDriver, service: DnsService): void {
  if (wanted !== true) return;
  if (driver.capability.hostGateway !== true) {
    throw new SwitchyardError('SWY_ERR_DNS_UNSUPPORTED', `Network "${name}" cannot have DNS: the ${driver.type} driver gives the host no address on it for a responder to listen on`, {
      hint: 'Use a bridge or veth network for name resolution between sandboxes, or leave DNS off (sandboxes keep the host name servers).',
      details: { network: name, driver: driver.type },
    });
  }
  if (service === NO_DNS) {
    throw new SwitchyardError('SWY_ERR_DNS_UNAVAILABLE', `Network "${name}" asks for DNS, but this Switchyard has no DNS service`, {
      hint: "Pass one: createSwitchyard({ dns: createDnsService({ stateDir }) }) from '@switchyard/dns' (the CLI does).",
      details: { network: name },
    });
  }
}

/**
 * Whether a new network gets DNS: as asked, else on where the host holds its gateway and a responder can
 * run. Decided from the driver's plan: `plan.hostGateway === false` (a bridge with `isGateway` off) means
 * the host holds no address on this network, whatever the driver's capability says.
 */
export function networkGetsDns(wanted: boolean | undefined, driver: NetworkDriver, network: NetworkRecord, plan: NetworkPlan, service: DnsService): boolean {
  if (wanted === false) return false;
  const possible = driver.capability.hostGateway === true && plan.hostGateway !== false && service !== NO_DNS && (network.ipv4?.gateway !== undefined || network.ipv6?.gateway !== undefined);
  if (wanted === true && !possible) {
    throw new SwitchyardError('SWY_ERR_DNS_UNSUPPORTED', `Network "${network.name}" cannot have DNS: the host holds no gateway address on it for a responder to listen on`, {
      hint: 'Give it a gateway held by the host (leave out the options that remove it, such as isGateway=false), or leave DNS off.',
      details: { network: network.name },
    });
  }
  return possible;
}
