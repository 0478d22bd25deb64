import { SwitchyardError } from '../errors/switchyard-error.js';
import type { Firewall } from '../spi/firewall.js';

/** The firewall until the nftables one lands: every request fails with a coded error that says so. */
export class UnavailableFirewall implements Firewall {
  readonly name = 'none';

  private refuse(what: string): never {
    throw new SwitchyardError('SWY_ERR_FIREWALL_UNAVAILABLE', `${what} needs a firewall backend, and this Switchyard has none yet`, {
      hint: 'Create the network without masquerade / port bindings; nftables support is planned.',
    });
  }

  async ensureMasquerade(): Promise<void> {
    this.refuse('IP masquerade');
  }
  async removeMasquerade(): Promise<void> {}
  async publishPorts(): Promise<void> {
    this.refuse('Publishing ports');
  }
  async unpublishPorts(): Promise<void> {}
}
