/**
 * Switchyard's default IPAM (`host-local`): addresses handed out from local ranges and stored in
 * exactly the on-disk format of CNI's `host-local` plugin, so Switchyard and the CNI binary can share
 * one data directory. The default export is the IPAM manifest core loads by name; the allocator,
 * stores and range helpers are exported for the CNI plugin and for tools that read the same files.
 *
 * @module \@switchyard/ipam-host-local
 */
import { defineIpam } from '@switchyard/core';
import { HostLocalIpam } from './host-local-ipam.js';

export { HostLocalIpam, type HostLocalIpamOptions } from './host-local-ipam.js';
export { HostLocalAllocator, type CniHostLocalConfig, type CniHostLocalIpamConfig, type HostLocalAllocatorOptions, type SetAllocation } from './host-local-allocator.js';
export { RangeSetAllocator, ownerMatches, type Allocation, type AllocationStore, type StoredOwner } from './allocator.js';
export { MemoryAllocationStore } from './memory-store.js';
export { DiskAllocationStore, CNI_DATA_DIR, NETWORK_NAME, recordContent, parseRecord, type DiskAllocationStoreOptions } from './disk-store.js';
export { parseRange, parseRangeSet, describeRange, describeRangeSet, type AddressRange, type RangeSet } from './range.js';
export { pickDefaultPool, defaultPoolCandidates, parseExcludes, DEFAULT_V6_PREFIX } from './default-pools.js';
export { decodePoolId, type PoolDefinition } from './pool-id.js';
export { SCRATCH_DIR_NAME } from './scratch-dir.js';
export type { Cidr } from './address.js';
export { INDEX_DIR_NAME } from './owner-index.js';

/**
 * The `host-local` IPAM manifest core loads by name (the default IPAM). Its data directory is the plugin's state
 * directory unless a network's IPAM options name a `dataDir` (e.g. CNI's `/var/lib/cni/networks`, to share it).
 */
export default defineIpam({
  apiVersion: 1,
  name: 'host-local',
  version: '0.1.0',
  description: 'Addresses from local ranges, stored in CNI host-local format (shareable with CNI via the dataDir option)',
  create(deps) {
    return new HostLocalIpam({ dataDir: deps.stateDir, logger: deps.logger });
  },
});
