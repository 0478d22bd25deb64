export * from './nftables-firewall.js';
export * from './nft-runner.js';
export * from './ruleset.js';
