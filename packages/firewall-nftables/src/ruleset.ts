import type { FirewallChange, FirewallEndpoint, FirewallNetwork, FirewallState, PublishedPort } from '@switchyard/core';

/**
 * Switchyard's nftables ruleset, as `nft -f` script text. Everything per network, endpoint or port is
 * an element of a set or map, or a chain reached through a verdict map, so the rules a packet walks and
 * the size of one change stay the same however many sandboxes, networks and ports there are.
 *
 * Table `inet switchyard`:
 * - `ifaces`: every Switchyard host interface; `internal_ifaces`: those of internal networks;
 * - `from_net`: interface -> `jump net-<network>` (the network's isolation chain);
 * - `masq4`/`masq6`: masqueraded subnets; `subnets4`/`subnets6`: every Switchyard subnet;
 * - published ports in three maps per family, each binding in exactly one (host-port reservations keep
 *   them from overlapping), so a packet takes at most three lookups and adding one is one element:
 *   `pub4`/`pub6` `protocol . host port -> container address . port` (every host address, any client:
 *   the common case, a hash lookup); `pubaddr4`/`pubaddr6` `host address . protocol . host port -> …`
 *   (one host address); `ports4`/`ports6` `client . host address . protocol . host port -> …` with
 *   intervals on the first two (0.0.0.0/0 means any), for bindings with a client allow-list.
 */
export const TABLE = 'switchyard';
const T = `inet ${TABLE}`;
/** Bridged frames never reach the inet hooks from their bridge port: anti-spoofing on ports lives in a bridge table. */
const B = `bridge ${TABLE}`;

/** The base objects: idempotent `add`s, so the same text creates them or leaves them be. */
function declareSets(): string[] {
  return [
    `add table ${T}`,
    `add set ${T} ifaces { type ifname; comment "host interfaces of Switchyard networks"; }`,
    `add set ${T} internal_ifaces { type ifname; comment "host interfaces of internal networks"; }`,
    `add map ${T} from_net { type ifname : verdict; comment "interface -> its network's chain"; }`,
    `add set ${T} masq4 { type ipv4_addr; flags interval; comment "masqueraded subnets"; }`,
    `add set ${T} masq6 { type ipv6_addr; flags interval; comment "masqueraded subnets"; }`,
    `add set ${T} subnets4 { type ipv4_addr; flags interval; comment "every Switchyard subnet"; }`,
    `add set ${T} subnets6 { type ipv6_addr; flags interval; comment "every Switchyard subnet"; }`,
    `add map ${T} ports4 { type ipv4_addr . ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; flags interval; comment "published ports with a client allow-list"; }`,
    `add map ${T} ports6 { type ipv6_addr . ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; flags interval; comment "published ports with a client allow-list"; }`,
    `add map ${T} pubaddr4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; comment "published ports on one host address"; }`,
    `add map ${T} pubaddr6 { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; comment "published ports on one host address"; }`,
    `add map ${T} pub4 { type inet_proto . inet_service : ipv4_addr . inet_service; comment "published ports on every host address"; }`,
    `add map ${T} pub6 { type inet_proto . inet_service : ipv6_addr . inet_service; comment "published ports on every host address"; }`,
    `add set ${T} guarded { type ifname; comment "routed endpoint interfaces under anti-spoofing"; }`,
    `add set ${T} allow4 { type ifname . ipv4_addr; comment "their own addresses"; }`,
    `add set ${T} allow6 { type ifname . ipv6_addr; comment "their own addresses"; }`,
    `add table ${B}`,
    `add set ${B} guarded { type ifname; comment "bridge ports under anti-spoofing"; }`,
    `add set ${B} allow_mac { type ifname . ether_addr; }`,
    `add set ${B} allow4 { type ifname . ether_addr . ipv4_addr; }`,
    `add set ${B} allow6 { type ifname . ether_addr . ipv6_addr; }`,
  ];
}

/** The base chains and their rules: a fixed handful, whatever is installed. */
export const BASE_CHAINS = ['nat-prerouting', 'nat-output', 'nat-postrouting', 'forward', 'antispoof'] as const;

function baseChains(): string[] {
  // A lookup that misses ends its rule, so the next map is tried; a port is in one map only.
  const local = 'meta l4proto { tcp, udp, sctp } fib daddr type local';
  const dnat = (from: string) => [
    `${local} dnat ip to ip saddr . ip daddr . meta l4proto . th dport map @ports4 comment "published ports with an allow-list${from}"`,
    `${local} dnat ip6 to ip6 saddr . ip6 daddr . meta l4proto . th dport map @ports6 comment "published ports with an allow-list${from}"`,
    `${local} dnat ip to ip daddr . meta l4proto . th dport map @pubaddr4 comment "published ports on one address${from}"`,
    `${local} dnat ip6 to ip6 daddr . meta l4proto . th dport map @pubaddr6 comment "published ports on one address${from}"`,
    `${local} meta nfproto ipv4 dnat ip to meta l4proto . th dport map @pub4 comment "published ports${from}"`,
    `${local} meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @pub6 comment "published ports${from}"`,
  ];
  const chain = (name: string, spec: string, rules: string[], table = T) => [`add chain ${table} ${name} { ${spec}; policy accept; }`, `flush chain ${table} ${name}`, ...rules.map((r) => `add rule ${table} ${name} ${r}`)];
  return [
    // A routed endpoint (veth) sends only from its own addresses (unspecified and link-local sources aside: DAD, ND).
    ...chain('antispoof', 'type filter hook prerouting priority raw', [
      'iifname != @guarded accept',
      'ip saddr != 0.0.0.0 iifname . ip saddr != @allow4 drop comment "spoofed source"',
      'ip6 saddr != { ::, fe80::/10 } iifname . ip6 saddr != @allow6 drop comment "spoofed source"',
    ]),
    // A bridged endpoint sends only from its own MAC, and IP and ARP only from its own addresses.
    ...chain(
      'antispoof',
      'type filter hook prerouting priority -300',
      [
        'iifname != @guarded accept',
        'iifname . ether saddr != @allow_mac drop comment "spoofed MAC"',
        'ether type arp arp saddr ip != 0.0.0.0 iifname . ether saddr . arp saddr ip != @allow4 drop comment "spoofed ARP"',
        'ether type ip ip saddr != 0.0.0.0 iifname . ether saddr . ip saddr != @allow4 drop comment "spoofed source"',
        'ether type ip6 ip6 saddr != { ::, fe80::/10 } iifname . ether saddr . ip6 saddr != @allow6 drop comment "spoofed source"',
      ],
      B,
    ),
    ...chain('nat-prerouting', 'type nat hook prerouting priority dstnat', dnat('')),
    // Connections from the host itself, to one of its addresses or to localhost (-100 is dstnat's value).
    ...chain('nat-output', 'type nat hook output priority -100', dnat(', from the host')),
    ...chain('nat-postrouting', 'type nat hook postrouting priority srcnat', [
      // localhost -> published port: the sandbox could not answer 127.0.0.1.
      'ct status dnat ip saddr 127.0.0.0/8 masquerade comment "published ports, from localhost"',
      // a sandbox -> a published port through a host address (hairpin): replies must come back the same way.
      'ct status dnat ip saddr @subnets4 masquerade comment "published ports, from a sandbox"',
      'ct status dnat ip6 saddr @subnets6 masquerade comment "published ports, from a sandbox"',
      'ip saddr @masq4 oifname != @ifaces ip daddr != 224.0.0.0/4 ip daddr != 255.255.255.255 masquerade comment "egress"',
      'ip6 saddr @masq6 oifname != @ifaces ip6 daddr != ff00::/8 masquerade comment "egress"',
    ]),
    ...chain('forward', 'type filter hook forward priority filter', [
      'oifname @ifaces ct state established,related accept',
      'ct status dnat accept comment "published ports"',
      'iifname vmap @from_net',
      'oifname @internal_ifaces drop comment "internal networks take nothing from outside"',
    ]),
  ];
}

/** A network's own chain and interface set names. */
export function networkChain(network: Pick<FirewallNetwork, 'name'>): string {
  return `net-${network.name}`;
}
function networkSet(network: Pick<FirewallNetwork, 'name'>): string {
  return `net-${network.name}-ifaces`;
}

const quote = (s: string): string => JSON.stringify(s);

function interfaceElements(network: FirewallNetwork, interfaces: string[]): string[] {
  if (interfaces.length === 0) return [];
  const names = interfaces.map(quote).join(', ');
  return [
    `add element ${T} ${networkSet(network)} { ${names} }`,
    `add element ${T} ifaces { ${names} }`,
    ...(network.internal ? [`add element ${T} internal_ifaces { ${names} }`] : []),
    `add element ${T} from_net { ${interfaces.map((i) => `${quote(i)} : jump ${networkChain(network)}`).join(', ')} }`,
  ];
}

/** `delete element` fails on an absent element: adding it first in the same transaction makes removal idempotent. */
function removeElements(set: string, elements: string[], keys: string[] = elements): string[] {
  if (elements.length === 0) return [];
  return [`add element ${T} ${set} { ${elements.join(', ')} }`, `delete element ${T} ${set} { ${keys.join(', ')} }`];
}

function subnetsOf(network: FirewallNetwork, family: 4 | 6): string[] {
  return network.subnets.filter((s) => (family === 6) === s.includes(':'));
}

/** nft script lines that add a network: its chain (within-network accept, isolation from other networks, drop for internal ones), its interface set and its subnets in the masquerade and subnet sets. */
export function addNetwork(network: FirewallNetwork): string[] {
  const chain = networkChain(network);
  const out = [`add set ${T} ${networkSet(network)} { type ifname; }`, `add chain ${T} ${chain}`, `flush chain ${T} ${chain}`];
  out.push(`add rule ${T} ${chain} oifname @${networkSet(network)} accept comment "within network ${network.name}"`);
  out.push(`add rule ${T} ${chain} oifname @ifaces drop comment "isolation from other networks"`);
  if (network.internal) out.push(`add rule ${T} ${chain} drop comment "internal network"`);
  out.push(...interfaceElements(network, network.interfaces));
  for (const family of [4, 6] as const) {
    const subnets = subnetsOf(network, family);
    if (subnets.length === 0) continue;
    out.push(`add element ${T} subnets${family} { ${subnets.join(', ')} }`);
    if (network.masquerade) out.push(`add element ${T} masq${family} { ${subnets.join(', ')} }`);
  }
  return out;
}

/** nft script lines that remove everything {@link addNetwork} added; idempotent (absent elements, chains and sets are declared first so deleting them cannot fail). */
export function removeNetwork(network: FirewallNetwork): string[] {
  const chain = networkChain(network);
  const names = network.interfaces.map(quote);
  // Declared first: the verdict-map entries re-added below for removal jump to the chain.
  const out = [
    `add chain ${T} ${chain}`,
    `add set ${T} ${networkSet(network)} { type ifname; }`,
    ...removeElements(
      'from_net',
      network.interfaces.map((i) => `${quote(i)} : jump ${chain}`),
      names,
    ),
    ...removeElements('ifaces', names),
    ...removeElements('internal_ifaces', network.internal ? names : []),
  ];
  for (const family of [4, 6] as const) {
    const subnets = subnetsOf(network, family);
    out.push(...removeElements(`subnets${family}`, subnets));
    if (network.masquerade) out.push(...removeElements(`masq${family}`, subnets));
  }
  // The chain must exist to be flushed and deleted; the vmap entries that jump to it are gone by now.
  out.push(`add chain ${T} ${chain}`, `flush chain ${T} ${chain}`, `delete chain ${T} ${chain}`);
  out.push(`add set ${T} ${networkSet(network)} { type ifname; }`, `delete set ${T} ${networkSet(network)}`);
  return out;
}

/** The three published-port maps: `pub` (any host address), `pubaddr` (one host address), `ports` (restricted to client subnets). */
export type PortMap = 'ports' | 'pubaddr' | 'pub';

/** One published port as an element of a port map. */
export interface PortElement {
  /** Which map (with the family: `pub4`, `pubaddr6`, …). */
  map: PortMap;
  /** The element's key, e.g. `tcp . 8080` (protocol and host port, prefixed by host address or client subnet for `pubaddr` and `ports`). */
  key: string;
  /** The DNAT target: `<container address> . <container port>`. */
  value: string;
}

/** Map elements of one endpoint's published ports, per family: each binding in the one map its shape belongs to. */
export function portElements(endpoint: FirewallEndpoint): {
  /** Elements of the IPv4 maps (`pub4`, `pubaddr4`, `ports4`). */
  4: PortElement[];
  /** Elements of the IPv6 maps (`pub6`, `pubaddr6`, `ports6`). */
  6: PortElement[];
} {
  const out: { 4: PortElement[]; 6: PortElement[] } = { 4: [], 6: [] };
  for (const port of endpoint.ports) {
    for (const family of [4, 6] as const) {
      const target = family === 4 ? endpoint.ipv4 : endpoint.ipv6;
      if (!target || !portAppliesTo(port, family)) continue;
      const any = family === 4 ? '0.0.0.0/0' : '::/0';
      const value = `${target} . ${port.containerPort}`;
      // 0.0.0.0 and :: mean every address of their family (Docker's `-p 0.0.0.0:80:80`).
      const everyAddress = port.hostIp === undefined || port.hostIp === '0.0.0.0' || port.hostIp === '::';
      if (port.allowFrom !== undefined) out[family].push({ map: 'ports', key: `${port.allowFrom} . ${everyAddress ? any : port.hostIp} . ${port.protocol} . ${port.hostPort}`, value });
      else if (!everyAddress) out[family].push({ map: 'pubaddr', key: `${port.hostIp} . ${port.protocol} . ${port.hostPort}`, value });
      else out[family].push({ map: 'pub', key: `${port.protocol} . ${port.hostPort}`, value });
    }
  }
  return out;
}

const PORT_MAPS: readonly PortMap[] = ['ports', 'pubaddr', 'pub'];

/** A binding with a host IP is for that IP's family; one without is for every family the endpoint has. */
function portAppliesTo(port: PublishedPort, family: 4 | 6): boolean {
  const ip = port.hostIp ?? port.allowFrom;
  return ip === undefined || ip.includes(':') === (family === 6);
}

/** Anti-spoofing elements of an endpoint: [table-qualified set, element] pairs. */
function guardElements(network: FirewallNetwork, endpoint: FirewallEndpoint): Array<[string, string]> {
  if (!network.antiSpoof) return [];
  const out: Array<[string, string]> = [];
  for (const dev of endpoint.interfaces.map(quote)) {
    out.push([`${T} guarded`, dev]);
    if (endpoint.ipv4) out.push([`${T} allow4`, `${dev} . ${endpoint.ipv4}`]);
    if (endpoint.ipv6) out.push([`${T} allow6`, `${dev} . ${endpoint.ipv6}`]);
  }
  if (endpoint.bridgePort && endpoint.mac) {
    const port = quote(endpoint.bridgePort);
    out.push([`${B} guarded`, port], [`${B} allow_mac`, `${port} . ${endpoint.mac}`]);
    if (endpoint.ipv4) out.push([`${B} allow4`, `${port} . ${endpoint.mac} . ${endpoint.ipv4}`]);
    if (endpoint.ipv6) out.push([`${B} allow6`, `${port} . ${endpoint.mac} . ${endpoint.ipv6}`]);
  }
  return out;
}

/** nft script lines that add an endpoint: its own interfaces, anti-spoofing elements (allowed sources before the guard) and its published ports. */
export function addEndpoint(network: FirewallNetwork, endpoint: FirewallEndpoint): string[] {
  const out = interfaceElements(network, endpoint.interfaces);
  // Allowed sources first, then the guard: no window in which the endpoint's own traffic is dropped.
  const guards = guardElements(network, endpoint);
  for (const [set, element] of [...guards.filter(([s]) => !s.endsWith(' guarded')), ...guards.filter(([s]) => s.endsWith(' guarded'))]) out.push(`add element ${set} { ${element} }`);
  const elements = portElements(endpoint);
  const comment = `comment ${quote(`endpoint ${endpoint.name}`)}`;
  for (const family of [4, 6] as const) {
    for (const map of PORT_MAPS) {
      const mine = elements[family].filter((e) => e.map === map);
      if (mine.length > 0) out.push(`add element ${T} ${map}${family} { ${mine.map((e) => `${e.key} ${comment} : ${e.value}`).join(', ')} }`);
    }
  }
  return out;
}

/** nft script lines that remove everything {@link addEndpoint} added; idempotent. */
export function removeEndpoint(network: FirewallNetwork, endpoint: FirewallEndpoint): string[] {
  const elements = portElements(endpoint);
  const names = endpoint.interfaces.map(quote);
  const out: string[] = [];
  for (const [set, element] of guardElements(network, endpoint)) out.push(`add element ${set} { ${element} }`, `delete element ${set} { ${element} }`);
  for (const family of [4, 6] as const) {
    for (const map of PORT_MAPS) {
      const mine = elements[family].filter((e) => e.map === map);
      out.push(
        ...removeElements(
          `${map}${family}`,
          mine.map((e) => `${e.key} : ${e.value}`),
          mine.map((e) => e.key),
        ),
      );
    }
  }
  // The network's chain exists while it has endpoints; declaring it lets the verdict-map entry be re-added for removal.
  if (names.length > 0) out.push(`add chain ${T} ${networkChain(network)}`);
  out.push(
    ...removeElements(
      'from_net',
      endpoint.interfaces.map((i) => `${quote(i)} : jump ${networkChain(network)}`),
      names,
    ),
  );
  out.push(...removeElements('ifaces', names), ...removeElements('internal_ifaces', network.internal ? names : []));
  // The network's own set may be gone already (its network is removed in the same change): re-declare it.
  if (names.length > 0) out.push(`add set ${T} ${networkSet(network)} { type ifname; }`, ...removeElements(networkSet(network), names));
  return out;
}

/**
 * One change as one script (one transaction): removals, then additions; with `skeleton`, the table,
 * sets and base chains are (re)asserted first (idempotent), for a table that may be missing.
 */
export function changeScript(change: FirewallChange, skeleton = true): string {
  const lines = skeleton ? [...declareSets(), ...baseChains()] : [];
  for (const { network, endpoint } of change.removeEndpoints ?? []) lines.push(...removeEndpoint(network, endpoint));
  for (const network of change.removeNetworks ?? []) lines.push(...removeNetwork(network));
  for (const network of change.addNetworks ?? []) lines.push(...addNetwork(network));
  for (const { network, endpoint } of change.addEndpoints ?? []) lines.push(...addEndpoint(network, endpoint));
  return lines.join('\n') + '\n';
}

/**
 * How many elements each set and map should hold for `state`, keyed `inet <name>` / `bridge <name>`
 * (what `verify` compares with the kernel's counts; the elements themselves are the change scripts').
 */
export function expectedElementCounts(state: FirewallState): Map<string, number> {
  const networks = new Map(state.networks.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  const add = (key: string, n = 1) => counts.set(key, (counts.get(key) ?? 0) + n);
  for (const key of ['from_net', 'masq4', 'masq6', 'subnets4', 'subnets6', 'guarded', 'allow4', 'allow6', ...PORT_MAPS.flatMap((m) => [`${m}4`, `${m}6`])]) add(`inet ${key}`, 0);
  const interfaces = new Set<string>();
  for (const network of state.networks) {
    for (const dev of network.interfaces) interfaces.add(dev);
    for (const family of [4, 6] as const) {
      add(`inet subnets${family}`, subnetsOf(network, family).length);
      if (network.masquerade) add(`inet masq${family}`, subnetsOf(network, family).length);
    }
  }
  let bridged = false;
  for (const endpoint of state.endpoints) {
    for (const dev of endpoint.interfaces) interfaces.add(dev);
    const ports = portElements(endpoint);
    for (const family of [4, 6] as const) for (const e of ports[family]) add(`inet ${e.map}${family}`);
    const network = networks.get(endpoint.networkId);
    if (!network) continue;
    for (const [set] of guardElements(network, endpoint)) {
      // `<family> <table> <set>`
      const [family, , name] = set.split(' ');
      if (family === 'bridge') bridged = true;
      add(`${family} ${name}`);
    }
  }
  add('inet from_net', interfaces.size);
  if (bridged) for (const key of ['guarded', 'allow_mac', 'allow4', 'allow6']) add(`bridge ${key}`, 0);
  return counts;
}

/** The whole table from scratch, replacing whatever is there, in one transaction. */
export function syncScript(state: FirewallState): string {
  const networks = new Map(state.networks.map((n) => [n.id, n]));
  const addEndpoints = state.endpoints.flatMap((endpoint) => {
    const network = networks.get(endpoint.networkId);
    return network ? [{ network, endpoint }] : [];
  });
  // `add table` then `delete table` removes it whether or not it existed; then everything is added afresh.
  return [`add table ${T}`, `delete table ${T}`, `add table ${B}`, `delete table ${B}`, changeScript({ addNetworks: state.networks, addEndpoints })].join('\n');
}
