import { SwitchyardError } from '../errors/switchyard-error.js';
import type { Firewall, FirewallChange, FirewallCheck } from '../spi/firewall.js';

/**
 * The firewall of a host without nftables (`none`): networks work without isolation rules, and
 * anything that needs NAT (masquerade, published ports) is refused by core before any change.
 */
export class UnavailableFirewall implements Firewall {
  readonly name = 'none';
  readonly available = false;

  async apply(change: FirewallChange): Promise<void> {
    const needs = (change.addNetworks ?? []).some((n) => n.masquerade) || (change.addEndpoints ?? []).some((e) => e.endpoint.ports.length > 0);
    if (needs) {
      throw new SwitchyardError('SWY_ERR_FIREWALL_UNAVAILABLE', 'Masquerade and published ports need a firewall backend, and this host has none', {
        hint: 'Install nftables (apt-get install nftables) and check `switchyard doctor`.',
      });
    }
  }
  async sync(): Promise<void> {}
  async verify(): Promise<FirewallCheck> {
    return { problems: [] };
  }
  async show(): Promise<string> {
    return 'firewall backend: none (nftables is not installed or not usable): no masquerade, no published ports, no isolation rules\n';
  }
}
