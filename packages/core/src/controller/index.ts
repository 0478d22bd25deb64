export * from './network-controller.js';
export * from './driver-views.js';
export * from './endpoint-lifecycle.js';
export * from './intents.js';
export * from './reconciler.js';
export { RETIRED_LINK_GROUP, retiredLinkName, type RetireIntent, type RetirementOptions } from './link-retirement.js';
export { NO_DNS, dnsServersOf } from './dns-hooks.js';
