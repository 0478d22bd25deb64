import type { Firewall, FirewallChange, FirewallCheck, FirewallEndpoint, FirewallNetwork, FirewallState } from '../spi/firewall.js';

/**
 * A firewall that keeps what it was asked to hold in memory, as a real backend holds rules: for logic
 * tests of core (what reaches the firewall, and when).
 */
export class MemoryFirewall implements Firewall {
  readonly name = 'memory';
  readonly available = true;
  /** The networks held, by id. */
  readonly networks = new Map<string, FirewallNetwork>();
  /** The endpoints held, by id. */
  readonly endpoints = new Map<string, FirewallEndpoint>();

  async apply(change: FirewallChange): Promise<void> {
    for (const { endpoint } of change.removeEndpoints ?? []) this.endpoints.delete(endpoint.id);
    for (const network of change.removeNetworks ?? []) this.networks.delete(network.id);
    for (const network of change.addNetworks ?? []) this.networks.set(network.id, structuredClone(network));
    for (const { endpoint } of change.addEndpoints ?? []) this.endpoints.set(endpoint.id, structuredClone(endpoint));
  }

  async sync(state: FirewallState): Promise<void> {
    this.networks.clear();
    this.endpoints.clear();
    await this.apply({ addNetworks: state.networks, addEndpoints: state.endpoints.map((endpoint) => ({ network: state.networks.find((n) => n.id === endpoint.networkId) as FirewallNetwork, endpoint })) });
  }

  async verify(state: FirewallState): Promise<FirewallCheck> {
    const problems: string[] = [];
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    for (const n of state.networks) if (!same(this.networks.get(n.id), n)) problems.push(`network ${n.name} differs`);
    for (const e of state.endpoints) if (!same(this.endpoints.get(e.id), e)) problems.push(`endpoint ${e.name} differs`);
    if (this.networks.size !== state.networks.length) problems.push('networks beyond the intended state');
    if (this.endpoints.size !== state.endpoints.length) problems.push('endpoints beyond the intended state');
    return { problems };
  }

  async show(): Promise<string> {
    return JSON.stringify({ networks: [...this.networks.values()], endpoints: [...this.endpoints.values()] }, null, 2);
  }

  /** Every published port, with its endpoint's name. */
  /** Every published port held, each with the name of its endpoint. */
  publishedPorts(): Array<
    {
      /** The endpoint's name (`<sandbox>.<network>`). */
      endpoint: string;
    } & FirewallEndpoint['ports'][number]
  > {
    return [...this.endpoints.values()].flatMap((e) => e.ports.map((p) => ({ endpoint: e.name, ...p })));
  }
}
