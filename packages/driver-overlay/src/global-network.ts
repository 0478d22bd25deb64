import { MAX_VNI, SwitchyardError, VXLAN_DEFAULT_PORT, type GlobalStoreTx } from '@switchyard/core';
import { FIRST_AUTO_VNI } from './options.js';

/**
 * The overlay network's documents in the cluster's global store: one network document per name in
 * `networks` (the VNI and port every host uses), and one membership document per host that has the
 * network, bound to that host's lease, so the last host to delete the network also deletes its document.
 */

/** An overlay network as the cluster knows it (collection `networks` of the global store, id = the network's name). */
export interface GlobalOverlayNetwork {
  /** The network's name, the same on every host. */
  name: string;
  /** Always `overlay`. */
  driver: 'overlay';
  /** The VXLAN network identifier every host's VXLAN link uses. */
  vni: number;
  /** The UDP port of the network's VXLAN packets. */
  port: number;
}

/** One host's membership of an overlay network (collection {@link OVERLAY_MEMBERS}, bound to the host's lease). */
export interface OverlayMember {
  /** The network's name. */
  network: string;
  /** The host that has the network. */
  host: string;
  /** The host's underlay address, the source of its VXLAN packets. */
  hostAddress: string;
  /** The network's VNI. */
  vni: number;
}

/** Global-store collection of {@link OverlayMember} documents. */
export const OVERLAY_MEMBERS = 'plugin:overlay.members';

/** Id of a host's membership document. */
export function memberId(network: string, host: string): string {
  return `${network}@${host}`;
}

type NetworkDoc = Record<string, unknown> & { name?: unknown; driver?: unknown; vni?: unknown; port?: unknown };

function mismatch(name: string, what: string, hint: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_GLOBAL_NETWORK_MISMATCH', `The cluster's network "${name}" ${what}`, { hint, details: { network: name } });
}

/**
 * The cluster's network of that name, made when there is none: checks that an existing one is an overlay
 * network with the VNI and port the user asked for (if any), else picks the VNI and writes the document.
 */
export async function claimGlobalNetwork(tx: GlobalStoreTx, wanted: { name: string; vni?: number; port?: number }): Promise<GlobalOverlayNetwork> {
  const { name } = wanted;
  const doc = await tx.get<NetworkDoc>('networks', name);
  if (doc?.driver !== undefined && doc.driver !== 'overlay') {
    throw mismatch(name, `uses driver ${JSON.stringify(doc.driver)}, not overlay`, `Create it with the driver it has (${JSON.stringify(doc.driver)}) to join it, or choose another name.`);
  }
  if (doc && typeof doc.vni === 'number' && typeof doc.port === 'number') {
    const found: GlobalOverlayNetwork = { name, driver: 'overlay', vni: doc.vni, port: doc.port };
    for (const key of ['vni', 'port'] as const) {
      const asked = wanted[key];
      if (asked !== undefined && asked !== found[key]) {
        throw mismatch(name, `has ${key} ${found[key]}, not ${asked}`, `Leave ${key} out to join the network as it is, or choose another network name.`);
      }
    }
    return found;
  }
  const others = (await tx.list<NetworkDoc>('networks')).filter((n) => n.driver === 'overlay' && n.name !== name && typeof n.vni === 'number');
  const used = new Set(others.map((n) => n.vni as number));
  let vni = wanted.vni;
  if (vni !== undefined && used.has(vni)) {
    const holder = others.find((n) => n.vni === vni);
    throw mismatch(name, `cannot have VNI ${vni}: the cluster's network "${String(holder?.name)}" has it`, 'Leave vni out to get a free one, or choose a VNI no other overlay network uses.');
  }
  vni ??= lowestFreeVni(used);
  const created: GlobalOverlayNetwork = { name, driver: 'overlay', vni, port: wanted.port ?? VXLAN_DEFAULT_PORT };
  await tx.put('networks', name, created);
  return created;
}

function lowestFreeVni(used: ReadonlySet<number>): number {
  for (let vni = FIRST_AUTO_VNI; vni <= MAX_VNI; vni++) if (!used.has(vni)) return vni;
  throw new SwitchyardError('SWY_ERR_POOL_EXHAUSTED', `Every VNI from ${FIRST_AUTO_VNI} to ${MAX_VNI} is taken by an overlay network of the cluster`, {
    hint: 'Delete overlay networks nobody uses, or give a VNI below 4096 with the vni option.',
  });
}

/** Ends this host's membership; the network's document goes with the last member. Idempotent. */
export async function leaveGlobalNetwork(tx: GlobalStoreTx, network: string, host: string): Promise<void> {
  await tx.delete(OVERLAY_MEMBERS, memberId(network, host));
  const others = (await tx.list<OverlayMember>(OVERLAY_MEMBERS)).filter((m) => m.network === network && m.host !== host);
  if (others.length > 0) return;
  const doc = await tx.get<NetworkDoc>('networks', network);
  if (doc?.driver === 'overlay') await tx.delete('networks', network);
}
