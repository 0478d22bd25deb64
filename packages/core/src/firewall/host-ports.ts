import { SwitchyardError } from '../errors/switchyard-error.js';
import type { PortBinding, SandboxRecord } from '../model/types.js';

/**
 * Host ports are reserved in the store. The reservations live in one small index document
 * (`meta/host-ports`) beside the sandbox records, so a connect that publishes a port reads one
 * document, not every sandbox: its cost stays flat as sandboxes and mappings grow.
 *
 * The sandbox records stay the truth; the index may hold more than they do, never less. A connect
 * writes its entries before it commits and takes them back if it fails; disconnect and sandbox removal
 * drop theirs after they commit. A process that dies between the two leaves a stale entry: the next
 * reservation that meets one checks the holder's record and drops it if the record no longer holds the
 * port, and `gc` rebuilds the index from the records.
 */
export const HOST_PORTS_DOC = 'host-ports';

export interface HeldPort {
  sandbox: string;
  endpoint: string;
  protocol: PortBinding['protocol'];
  hostPort: number;
  hostIp?: string;
  allowFrom?: string;
}

export interface HostPortIndex {
  version: 1;
  held: HeldPort[];
}

function heldPort(sandbox: string, endpoint: string, b: PortBinding): HeldPort {
  return { sandbox, endpoint, protocol: b.protocol, hostPort: b.hostPort, ...(b.hostIp ? { hostIp: b.hostIp } : {}), ...(b.allowFrom ? { allowFrom: b.allowFrom } : {}) };
}

/** The index as the sandbox records say it should be (first use, and `gc`). */
export function hostPortIndexFrom(sandboxes: readonly SandboxRecord[]): HostPortIndex {
  return { version: 1, held: sandboxes.flatMap((s) => s.endpoints.flatMap((e) => e.portBindings.map((b) => heldPort(s.name, e.name, b)))) };
}

export function withHeldPorts(index: HostPortIndex, sandbox: string, endpoint: string, bindings: readonly PortBinding[]): HostPortIndex {
  return { version: 1, held: [...index.held, ...bindings.map((b) => heldPort(sandbox, endpoint, b))] };
}

/** The index without the entries of the named endpoints (or, with `sandbox`, every endpoint of that sandbox). */
export function withoutHolders(index: HostPortIndex, gone: { endpoints?: readonly string[]; sandbox?: string }): HostPortIndex {
  const endpoints = new Set(gone.endpoints ?? []);
  return { version: 1, held: index.held.filter((h) => !endpoints.has(h.endpoint) && h.sandbox !== gone.sandbox) };
}

/** Whether the sandbox record (as committed) still holds the port the index entry names. */
export function recordHolds(record: SandboxRecord | undefined, holder: HeldPort): boolean {
  return record?.endpoints.some((e) => e.name === holder.endpoint && e.portBindings.some((b) => overlaps(b, holder))) === true;
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

/**
 * Gives each binding with host port 0 a free port from `range`, and refuses a binding whose host port
 * an index entry (or an earlier binding of this request) already holds, naming the holder in the error
 * (`details.holder`, `details.endpoint`: the caller may find the entry stale and try again without it).
 * Runs under the store's `ports` lock, so two connects never pick or claim the same port. Cost: one
 * map lookup per binding and per candidate port, whatever the number of entries.
 */
export function reserveHostPorts(bindings: readonly PortBinding[], index: HostPortIndex, range: readonly [number, number], self: string): PortBinding[] {
  const byPort = new Map<string, HeldPort[]>();
  const keyOf = (c: PortClaim) => `${c.protocol}/${c.hostPort}`;
  const hold = (h: HeldPort) => {
    const at = byPort.get(keyOf(h));
    if (at) at.push(h);
    else byPort.set(keyOf(h), [h]);
  };
  const holderOf = (c: PortClaim) => byPort.get(keyOf(c))?.find((h) => overlaps(h, c));
  for (const h of index.held) hold(h);
  const out: PortBinding[] = [];
  for (const wanted of bindings) {
    let binding = wanted;
    if (wanted.hostPort === 0) {
      let port = range[0];
      while (port <= range[1] && holderOf({ ...wanted, hostPort: port })) port++;
      if (port > range[1]) {
        throw new SwitchyardError('SWY_ERR_PORT_RANGE_EXHAUSTED', `No free ${wanted.protocol} host port is left in ${range[0]}-${range[1]} for container port ${wanted.containerPort}`, {
          hint: 'Give the host port explicitly, unpublish ports you no longer need, or widen the host port range.',
        });
      }
      binding = { ...wanted, hostPort: port };
    }
    const holder = holderOf(binding);
    if (holder) {
      const where = `${binding.hostIp ?? 'all addresses'}:${binding.hostPort}/${binding.protocol}`;
      const who = holder.sandbox === self && holder.endpoint === '' ? 'an earlier binding of this same request' : `sandbox "${holder.sandbox}" (endpoint ${holder.endpoint})`;
      throw new SwitchyardError('SWY_ERR_PORT_CONFLICT', `Host port ${where} is already published by ${who}`, {
        hint: 'Pick another host port, leave the host port out to get a free one, or unpublish it first (disconnect that endpoint).',
        details: { holder: holder.sandbox, endpoint: holder.endpoint },
      });
    }
    hold(heldPort(self, '', binding));
    out.push(binding);
  }
  return out;
}
