// @switchyard/ipam-host-local — host-local IPAM on CNI host-local's on-disk format.
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
export { INDEX_DIR_NAME } from './owner-index.js';

export default defineIpam({
  apiVersion: 1,
  name: 'host-local',
  version: '0.1.0',
  description: 'Addresses from local ranges, stored in CNI host-local format (shareable with CNI via the dataDir option)',
  create(deps) {
    return new HostLocalIpam({ dataDir: deps.stateDir, logger: deps.logger });
  },
});
