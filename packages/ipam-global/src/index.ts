/**
 * Switchyard's `global` IPAM, for networks spanning hosts: one pool per network and family in the
 * cluster's global store, handed out in blocks a host claims with a compare-and-swap and holds for as long
 * as its lease lives (Calico's design), or one subnet per host (`host-subnet` mode, flannel host-gw).
 * The default export is the IPAM manifest; the class, the document types and collection names are
 * exported for the agent and tools that read the same documents.
 *
 * @module \@switchyard/ipam-global
 */
import { defineIpam } from '@switchyard/core';
import { GlobalIpam } from './global-ipam.js';

export { GlobalIpam, type GlobalIpamOptions } from './global-ipam.js';
export { BLOCKS_COLLECTION, GLOBAL_IPAM_COLLECTIONS, MEMBERS_COLLECTION, POOLS_COLLECTION, blockIdOf, memberIdOf, poolIdOf, type BlockAllocation, type BlockDoc, type MemberDoc, type PoolDoc, type PoolMode } from './documents.js';
export { DEFAULT_V4_POOLS, DEFAULT_V6_PREFIX } from './pool-request.js';

/**
 * The `global` IPAM manifest. It needs the instance's global store (`deps.globalStore`); without one every
 * call fails with SWY_ERR_GLOBAL_STORE_MISSING.
 */
export default defineIpam({
  apiVersion: 1,
  name: 'global',
  version: '0.1.0',
  description: 'Cluster-wide pools in the global store, handed out in per-host blocks (Calico) or one subnet per host (host-subnet mode)',
  create(deps) {
    return new GlobalIpam({ globalStore: deps.globalStore });
  },
});
