import type { PortBinding } from '../model/types.js';

/** Packet filtering and NAT for networks and endpoints (masquerade, published ports, isolation). */
export interface Firewall {
  readonly name: string;
  /** Masquerades traffic from these subnets leaving through any other interface; idempotent. */
  ensureMasquerade(networkId: string, subnets: string[]): Promise<void>;
  /** Removes a network's masquerade rules; succeeds when there are none. */
  removeMasquerade(networkId: string): Promise<void>;
  /** Forwards host ports to an endpoint's address; idempotent. */
  publishPorts(endpointId: string, address: string, bindings: PortBinding[]): Promise<void>;
  /** Removes an endpoint's forwards; succeeds when there are none. */
  unpublishPorts(endpointId: string): Promise<void>;
}
