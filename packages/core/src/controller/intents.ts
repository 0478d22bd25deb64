import type { NetworkRecord } from '../model/types.js';

/**
 * Intent records: written before an operation changes the kernel or IPAM, deleted once its result is
 * committed. A record left behind means a process died part-way; the next start rolls the operation
 * back (or finishes a teardown) from what the record names.
 */
export type Intent =
  | {
      kind: 'network.create';
      id: string;
      networkId: string;
      networkName: string;
      driver: string;
      ipamDriver: string;
      at: string;
      /** Pools taken so far. */
      pools?: string[];
      /** The network as planned (with the driver's state), once its kernel plan is known: recovery tears it down. */
      planned?: NetworkRecord;
    }
  | { kind: 'network.delete'; id: string; networkName: string; networkId: string; at: string }
  | { kind: 'sandbox.create'; id: string; sandboxName: string; sandboxId?: string; netnsName?: string; at: string }
  | { kind: 'sandbox.delete'; id: string; sandboxName: string; sandboxId: string; at: string }
  | { kind: 'connect'; id: string; sandboxName: string; networkName: string; endpointId: string; ifname: string; at: string }
  | { kind: 'disconnect'; id: string; sandboxName: string; networkName: string; endpointId: string; at: string };
