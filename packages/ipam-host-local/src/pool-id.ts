import { SwitchyardError, quoteValue, type IpamRangeConfig } from '@switchyard/core';
import { assertNetworkName } from './disk-store.js';
import { parseRangeSet, rangeToConfig, type RangeSet } from './range.js';

/**
 * Everything needed to allocate from a pool. Pool ids are self-describing (this definition, encoded), so a pool
 * survives restarts with no registry file to keep in step: any later process decodes the id and finds the files.
 */
export interface PoolDefinition {
  /** The host-local network name: the sub-directory of `dataDir` holding the pool's files. */
  network: string;
  /** The data directory (CNI's `dataDir`). */
  dataDir: string;
  /** CNI range-set index: names `last_reserved_ip.<setIndex>`. */
  setIndex: number;
  /** Ranges in explicit form (start, end and gateway spelled out), so the meaning never depends on defaults. */
  ranges: IpamRangeConfig[];
  /** The id of the Switchyard network the pool belongs to: the owner of the addresses the network reserved for itself. */
  networkId?: string;
}

const PREFIX = 'host-local/';

export function encodePoolId(network: string, dataDir: string, setIndex: number, set: RangeSet, networkId?: string): string {
  const body = { v: 1, n: network, d: dataDir, s: setIndex, r: set.ranges.map(rangeToConfig), ...(networkId ? { o: networkId } : {}) };
  // Network and set index up front so ids read well in `inspect`; the base64url part is authoritative.
  return `${PREFIX}${network}/${setIndex}/${Buffer.from(JSON.stringify(body)).toString('base64url')}`;
}

function notFound(poolId: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_POOL_NOT_FOUND', `${quoteValue(poolId)} is not a host-local pool id.`, {
    hint: 'Pass the poolId that host-local requestPool returned (it is stored in the network record).',
    details: { poolId },
  });
}

/** Decodes and re-validates a pool id; SWY_ERR_POOL_NOT_FOUND when it is not one this IPAM made. */
export function decodePoolId(poolId: string): {
  /** The pool's definition. */
  definition: PoolDefinition;
  /** Its ranges, parsed and checked. */
  set: RangeSet;
} {
  if (typeof poolId !== 'string' || !poolId.startsWith(PREFIX)) throw notFound(poolId);
  const encoded = poolId.slice(poolId.lastIndexOf('/') + 1);
  let body: { v?: unknown; n?: unknown; d?: unknown; s?: unknown; r?: unknown; o?: unknown };
  try {
    body = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as typeof body;
  } catch {
    throw notFound(poolId);
  }
  if (body?.v !== 1 || typeof body.n !== 'string' || typeof body.d !== 'string' || !body.d.startsWith('/') || (body.s !== 0 && body.s !== 1) || !Array.isArray(body.r)) {
    throw notFound(poolId);
  }
  try {
    assertNetworkName(body.n);
    const ranges = body.r as IpamRangeConfig[];
    const networkId = typeof body.o === 'string' ? { networkId: body.o } : {};
    return { definition: { network: body.n, dataDir: body.d, setIndex: body.s, ranges, ...networkId }, set: parseRangeSet(ranges) };
  } catch (e) {
    throw new SwitchyardError('SWY_ERR_POOL_NOT_FOUND', `Pool id ${quoteValue(poolId)} holds an invalid definition.`, {
      hint: 'Pass the poolId that host-local requestPool returned, unmodified.',
      cause: e,
      details: { poolId },
    });
  }
}
