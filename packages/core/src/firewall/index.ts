export * from './unavailable-firewall.js';
