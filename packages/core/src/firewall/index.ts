export * from './unavailable-firewall.js';
export * from './firewall-intents.js';
export * from './port-bindings.js';
export * from './host-ports.js';
