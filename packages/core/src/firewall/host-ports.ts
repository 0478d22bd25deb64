import { SwitchyardError } from '../errors/switchyard-error.js';
import type { PortBinding, SandboxRecord } from '../model/types.js';
import type { StoreTx } from '../spi/state-store.js';

/**
 * Host ports are reserved in the store, in small documents that each cover a block of 256 ports of one
 * protocol (`meta/hostport-<proto>-<block>`, listing the holders of its ports in use), so a connect that
 * publishes a port reads and writes one document of at most 256 ports' entries, whatever the number of
 * sandboxes and mappings, and a range of consecutive ports touches only a few. Automatic
 * ports are picked round-robin from a cursor per protocol (`meta/hostport-next-<proto>`), as Docker's
 * port allocator does.
 *
 * The sandbox records stay the truth; the documents may hold more than they do, never less. A connect
 * writes its entries before it commits and takes them back if it fails; disconnect and sandbox removal
 * drop theirs after they commit. A process that dies between the two leaves a stale entry: the next
 * reservation that meets one checks the holder's record and drops it if the record no longer holds the
 * port, and `gc` rebuilds the documents from the records.
 */
export const HOST_PORT_DOC_PREFIX = 'hostport-';

/** Ports per document. */
export const HOST_PORT_BLOCK = 256;

/** The id of the document that holds `hostPort`'s entries. */
export function hostPortDocId(protocol: PortBinding['protocol'], hostPort: number): string {
  return `${HOST_PORT_DOC_PREFIX}${protocol}-${Math.floor(hostPort / HOST_PORT_BLOCK)}`;
}

function cursorDocId(protocol: PortBinding['protocol']): string {
  return `${HOST_PORT_DOC_PREFIX}next-${protocol}`;
}

/** One published host port in use: who holds it and how it is bound. */
export interface HeldPort {
  /** Name of the sandbox holding the port. */
  sandbox: string;
  /** Name of the endpoint (network) it is published through. */
  endpoint: string;
  /** Transport protocol. */
  protocol: PortBinding['protocol'];
  /** The host port (1–65535). */
  hostPort: number;
  /** The host address it is bound to; absent for every address. */
  hostIp?: string;
  /** The client subnet it is restricted to, if any. */
  allowFrom?: string;
}

/** One block's document: the entries of its ports in use. */
export interface HostPortDoc {
  /** The ports of the block that are in use, with their holders. */
  held: HeldPort[];
}

function heldPort(sandbox: string, endpoint: string, b: PortBinding): HeldPort {
  return { sandbox, endpoint, protocol: b.protocol, hostPort: b.hostPort, ...(b.hostIp ? { hostIp: b.hostIp } : {}), ...(b.allowFrom ? { allowFrom: b.allowFrom } : {}) };
}

/** Whether the sandbox record (as committed) still holds the port the entry names. */
function recordHolds(record: SandboxRecord | undefined, holder: HeldPort): boolean {
  return record?.endpoints.some((e) => e.name === holder.endpoint && e.portBindings.some((b) => overlaps(b, holder))) === true;
}

/**
 * The host-port documents as one transaction sees them: reads each block's document once, keeps changes
 * in memory and writes the changed ones at `save()`. Used under the store's `ports:host` lock.
 */
export class HostPortBook {
  private readonly docs = new Map<string, HeldPort[]>();
  private readonly changed = new Set<string>();
  private readonly cursors = new Map<PortBinding['protocol'], number>();

  constructor(
    private readonly tx: StoreTx,
    private readonly range: readonly [number, number],
    private readonly onStale: (holder: HeldPort) => void = () => undefined,
  ) {}

  /** Every entry of the block `hostPort` is in (read once per book). */
  private async block(protocol: PortBinding['protocol'], hostPort: number): Promise<HeldPort[]> {
    const id = hostPortDocId(protocol, hostPort);
    let held = this.docs.get(id);
    if (held === undefined) {
      held = (await this.tx.get<HostPortDoc>('meta', id))?.held ?? [];
      this.docs.set(id, held);
    }
    return held;
  }

  private async heldAt(protocol: PortBinding['protocol'], hostPort: number): Promise<HeldPort[]> {
    return (await this.block(protocol, hostPort)).filter((h) => h.hostPort === hostPort);
  }

  /** Replaces the block's entries that `keep` rejects (and adds `add`). */
  private async change(protocol: PortBinding['protocol'], hostPort: number, keep: (h: HeldPort) => boolean, add: HeldPort[] = []): Promise<void> {
    const id = hostPortDocId(protocol, hostPort);
    this.docs.set(id, [...(await this.block(protocol, hostPort)).filter(keep), ...add]);
    this.changed.add(id);
  }

  /** The entry that holds `claim`'s port, after dropping stale entries in the way (their holder's record does not hold the port). */
  private async holderOf(claim: PortClaim): Promise<HeldPort | undefined> {
    for (;;) {
      const held = await this.heldAt(claim.protocol, claim.hostPort);
      const holder = held.find((h) => overlaps(h, claim));
      if (!holder || holder.endpoint === '' || recordHolds(await this.tx.get<SandboxRecord>('sandboxes', holder.sandbox), holder)) return holder;
      this.onStale(holder);
      await this.change(claim.protocol, claim.hostPort, (h) => h !== holder);
    }
  }

  /**
   * Gives each binding with host port 0 a free port (round-robin through the range), and refuses a
   * binding whose host port an entry (or an earlier binding of this request) holds, naming the holder.
   * The bindings are held for `endpoint` once it returns (call `save()`).
   */
  async reserve(bindings: readonly PortBinding[], sandbox: string, endpoint: string): Promise<PortBinding[]> {
    const out: PortBinding[] = [];
    // This request's own bindings hold their ports under an empty endpoint name until the end.
    const mine: HeldPort[] = [];
    for (const wanted of bindings) {
      let binding = wanted;
      if (wanted.hostPort === 0) binding = { ...wanted, hostPort: await this.freePort(wanted) };
      const holder = await this.holderOf(binding);
      if (holder) {
        const where = `${binding.hostIp ?? 'all addresses'}:${binding.hostPort}/${binding.protocol}`;
        const who = holder.endpoint === '' ? 'an earlier binding of this same request' : `sandbox "${holder.sandbox}" (endpoint ${holder.endpoint})`;
        throw new SwitchyardError('SWY_ERR_PORT_CONFLICT', `Host port ${where} is already published by ${who}`, {
          hint: 'Pick another host port, leave the host port out to get a free one, or unpublish it first (disconnect that endpoint).',
          details: { holder: holder.endpoint === '' ? sandbox : holder.sandbox },
        });
      }
      const entry = heldPort(sandbox, '', binding);
      mine.push(entry);
      await this.change(binding.protocol, binding.hostPort, () => true, [entry]);
      out.push(binding);
    }
    for (const entry of mine) entry.endpoint = endpoint;
    return out;
  }

  private async freePort(wanted: PortBinding): Promise<number> {
    const [first, last] = this.range;
    let cursor = this.cursors.get(wanted.protocol);
    if (cursor === undefined) cursor = (await this.tx.get<{ last: number }>('meta', cursorDocId(wanted.protocol)))?.last ?? last;
    const size = last - first + 1;
    for (let i = 1; i <= size; i++) {
      const port = first + ((((cursor - first + i) % size) + size) % size);
      if (!(await this.holderOf({ ...wanted, hostPort: port }))) {
        this.cursors.set(wanted.protocol, port);
        return port;
      }
    }
    throw new SwitchyardError('SWY_ERR_PORT_RANGE_EXHAUSTED', `No free ${wanted.protocol} host port is left in ${first}-${last} for container port ${wanted.containerPort}`, {
      hint: 'Give the host port explicitly, unpublish ports you no longer need, or widen the host port range.',
    });
  }

  /** Drops the entries of `endpoint` (or, without one, of every endpoint of `sandbox`) for these bindings' ports. */
  async release(bindings: ReadonlyArray<Pick<PortBinding, 'protocol' | 'hostPort'>>, holder: { sandbox: string; endpoint?: string }): Promise<void> {
    const mine = (h: HeldPort) => h.sandbox === holder.sandbox && (holder.endpoint === undefined || h.endpoint === holder.endpoint);
    for (const b of bindings) {
      if ((await this.heldAt(b.protocol, b.hostPort)).some(mine)) await this.change(b.protocol, b.hostPort, (h) => !(h.hostPort === b.hostPort && mine(h)));
    }
  }

  /** Writes the documents this book changed (an empty one is deleted) and the cursors it moved. */
  async save(): Promise<void> {
    for (const id of this.changed) {
      const held = this.docs.get(id) ?? [];
      if (held.length === 0) await this.tx.delete('meta', id);
      else await this.tx.put<HostPortDoc>('meta', id, { held });
    }
    this.changed.clear();
    for (const [protocol, last] of this.cursors) await this.tx.put('meta', cursorDocId(protocol), { last });
    this.cursors.clear();
  }
}

/**
 * `gc`, under the store-wide lock: every host-port document as the sandbox records say it should be
 * (stale entries go, missing ones come back); the cursors stay. Returns how many documents changed.
 */
export async function rebuildHostPorts(tx: StoreTx): Promise<number> {
  const want = new Map<string, HeldPort[]>();
  for (const s of await tx.list<SandboxRecord>('sandboxes')) {
    for (const e of s.endpoints) {
      for (const b of e.portBindings) {
        const id = hostPortDocId(b.protocol, b.hostPort);
        want.set(id, [...(want.get(id) ?? []), heldPort(s.name, e.name, b)]);
      }
    }
  }
  let changed = 0;
  // A document names its block in its entries (an empty one never stays).
  for (const doc of await tx.list<Partial<HostPortDoc>>('meta')) {
    const first = Array.isArray(doc.held) ? doc.held[0] : undefined;
    if (!first) continue;
    const id = hostPortDocId(first.protocol, first.hostPort);
    if (want.has(id)) continue;
    await tx.delete('meta', id);
    changed++;
  }
  for (const [id, held] of want) {
    const have = (await tx.get<HostPortDoc>('meta', id))?.held;
    if (JSON.stringify(have) === JSON.stringify(held)) continue;
    await tx.put<HostPortDoc>('meta', id, { held });
    changed++;
  }
  return changed;
}

type PortClaim = Pick<PortBinding, 'protocol' | 'hostPort' | 'hostIp' | 'allowFrom'>;

function familyOf(binding: PortClaim): 4 | 6 | undefined {
  const ip = binding.hostIp ?? binding.allowFrom;
  if (ip === undefined) return undefined;
  return ip.includes(':') ? 6 : 4;
}

/** Two bindings claim the same host port: same protocol and port, and host addresses that overlap (no address = all of them). */
function overlaps(a: PortClaim, b: PortClaim): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort) return false;
  const fa = familyOf(a);
  const fb = familyOf(b);
  if (fa !== undefined && fb !== undefined && fa !== fb) return false;
  return isWildcard(a.hostIp) || isWildcard(b.hostIp) || a.hostIp === b.hostIp;
}

/** No host IP, 0.0.0.0 or ::: every address (of the family, for the last two). */
function isWildcard(hostIp: string | undefined): boolean {
  return hostIp === undefined || hostIp === '0.0.0.0' || hostIp === '::';
}
