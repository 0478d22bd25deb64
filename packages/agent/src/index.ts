/**
 * `switchyard agent` as a library: the per-host process of multi-host networks that keeps the host's
 * lease in the global store and programs VXLAN forwarding and host-gw routes from it.
 *
 * @module \@switchyard/agent
 */
export { Agent, type AgentEvents, type AgentLease, type AgentOptions, type ReconcileReport } from './agent.js';
export {
  AGENT_ROUTE_PROTOCOL,
  desiredForwarding,
  planForwarding,
  emptyForwarding,
  fdbKey,
  neighKey,
  type AgentRoute,
  type FdbEntry,
  type ForwardingChanges,
  type ForwardingCounts,
  type ForwardingSources,
  type ForwardingState,
  type NeighEntry,
} from './forwarding.js';
export { applyForwarding, readForwarding } from './kernel-forwarding.js';
export { createMultiHostLab, killAndWait, type LabCommandResult, type LabHost, type MultiHostLab, type MultiHostLabOptions } from './multi-host-lab.js';
