import type { NetnsIdentity, NetworkRecord } from '../model/types.js';
import type { NetnsRef } from '../spi/kernel.js';

/**
 * Intent records: written before an operation changes the kernel or IPAM, deleted once its result is
 * committed. A record left behind means a process died part-way; the next start rolls the operation
 * back (or finishes a teardown) from what the record names.
 */
export type Intent =
  | {
      /** Creating a network. */
      kind: 'network.create';
      /** Unique id of this intent record (the key it is stored under). */
      id: string;
      /** Id the new network gets. */
      networkId: string;
      /** Name the new network gets. */
      networkName: string;
      /** The network driver's type (e.g. `bridge`). */
      driver: string;
      /** The IPAM driver's name (e.g. `host-local`). */
      ipamDriver: string;
      /** When the intent was written (ISO 8601 timestamp). */
      at: string;
      /** Pools taken so far. */
      pools?: string[];
      /** The network as planned (with the driver's state), once its kernel plan is known: recovery tears it down. */
      planned?: NetworkRecord;
    }
  | {
      /** Deleting a network: recovery finishes the teardown. */
      kind: 'network.delete';
      /** Unique id of this intent record (the key it is stored under). */
      id: string;
      /** Name of the network being deleted. */
      networkName: string;
      /** Id of the network being deleted. */
      networkId: string;
      /** When the intent was written (ISO 8601 timestamp). */
      at: string;
    }
  | {
      /** Creating a sandbox (network namespace). */
      kind: 'sandbox.create';
      /** Unique id of this intent record (the key it is stored under). */
      id: string;
      /** Name of the new sandbox. */
      sandboxName: string;
      /** Id of the new sandbox, once chosen. */
      sandboxId?: string;
      /** Name of the namespace being created for it, once chosen. */
      netnsName?: string;
      /** When the intent was written (ISO 8601 timestamp). */
      at: string;
    }
  | {
      /** Deleting a sandbox: recovery finishes the teardown. */
      kind: 'sandbox.delete';
      /** Unique id of this intent record (the key it is stored under). */
      id: string;
      /** Name of the sandbox being deleted. */
      sandboxName: string;
      /** Id of the sandbox being deleted. */
      sandboxId: string;
      /** When the intent was written (ISO 8601 timestamp). */
      at: string;
    }
  | {
      /** Connecting a sandbox to a network (creating an endpoint). */
      kind: 'connect';
      /** Unique id of this intent record (the key it is stored under). */
      id: string;
      /** Name of the sandbox being connected. */
      sandboxName: string;
      /** Name of the network it is connected to. */
      networkName: string;
      /** Id the new endpoint gets. */
      endpointId: string;
      /** Interface name inside the sandbox (e.g. `eth0`). */
      ifname: string;
      /** When the intent was written (ISO 8601 timestamp). */
      at: string;
    }
  | {
      /** Disconnecting a sandbox from a network (removing an endpoint). */
      kind: 'disconnect';
      /** Unique id of this intent record (the key it is stored under). */
      id: string;
      /** Name of the sandbox being disconnected. */
      sandboxName: string;
      /** Name of the network it is disconnected from. */
      networkName: string;
      /** Id of the endpoint being removed. */
      endpointId: string;
      /** When the intent was written (ISO 8601 timestamp). */
      at: string;
    }
  | {
      /**
       * Links a committed disconnect retired (down, renamed, in the retired link group) and that are not
       * deleted yet; see `RETIRED_LINK_GROUP`. Recovery deletes the group where this names it.
       */
      kind: 'retire';
      /** Unique id of this record (the disconnect intent's, which it replaces). */
      id: string;
      /** Name of the sandbox that was disconnected. */
      sandboxName: string;
      /** The sandbox's namespace (where a retired link with no host end waits). */
      netns: NetnsRef;
      /** Device and inode of an adopted namespace, so a reused path is never touched. */
      netnsIdentity?: NetnsIdentity;
      /** Whether a host-side link went into the group with it (then deleting the group on the host removes the pair). */
      inHost: boolean;
      /** When the links were retired (ISO 8601 timestamp). */
      at: string;
    };
