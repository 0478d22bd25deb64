/**
 * Switchyard's {@link @switchyard/core!Firewall | Firewall} on nftables: masquerade, published
 * ports (DNAT), isolation between networks and internal networks, all in one `inet switchyard`
 * table whose rules do not grow with endpoints or ports (per-endpoint state lives in sets and maps).
 *
 * @module \@switchyard/firewall-nftables
 */
export * from './nftables-firewall.js';
export * from './nft-runner.js';
export * from './ruleset.js';
