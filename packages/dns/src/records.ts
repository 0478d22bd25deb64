import { join } from 'node:path';
import type { Answer } from 'dns-packet';
import { dnsServersOf, type NetworkRecord, type SandboxRecord } from '@switchyard/core';
import { addressOfReverseName, canonicalAddress, normalName } from './addresses.js';
import { DocumentDirectory } from './document-directory.js';

/** Where {@link Records} reads from. */
export interface RecordsOptions {
  /** The state directory whose `networks/` and `sandboxes/` documents it reads. */
  stateDir: string;
  /** Told about a document that is not valid JSON (it is left out until rewritten). */
  onBadDocument?: (path: string, error: unknown) => void;
  /**
   * Watch the two directories (inotify) so that a check while nothing changed costs no system call; for a
   * server answering in this process's event loop (see DocumentDirectory). Default off: a stat per check.
   */
  watch?: boolean;
}

/** A network the responder answers for: DNS on, a gateway, at least one sandbox endpoint on it. */
export interface ServedNetwork {
  /** The network's id. */
  id: string;
  /** The network's name. */
  name: string;
  /** Its gateway addresses (IPv4 first), as the network record spells them. */
  addresses: string[];
}

/** What {@link Records.lookup} found for one question. */
export type LookupResult =
  | {
      /** The name is not one of the asker's local names: forward the question. */
      local: false;
    }
  | {
      /** The name is local: answer it here (`answers` empty = NODATA). */
      local: true;
      /** The records answering the question (TTL 0). */
      answers: Answer[];
    };

interface NameEntry {
  ipv4: Set<string>;
  ipv6: Set<string>;
}

/** What one served network answers: names to addresses, addresses to sandbox names. */
interface NetworkIndex {
  names: Map<string, NameEntry>;
  ptr: Map<string, Set<string>>;
}

/**
 * The names the responder answers, read from the state store: for each network with DNS, the names
 * (sandbox name, host name, endpoint aliases) and addresses of the sandboxes on it, scoped by asker.
 * {@link check} picks up store changes (nothing at all when watching and nothing changed, else two
 * stats); lookups are map reads, so a query costs O(1) in the number of sandboxes.
 */
export class Records {
  private readonly networksDir: DocumentDirectory<NetworkRecord>;
  private readonly sandboxesDir: DocumentDirectory<SandboxRecord>;
  private served: ServedNetwork[] = [];
  private indexes = new Map<string, NetworkIndex>();
  /** Address → ids of the served networks of the sandbox(es) holding it. */
  private askers = new Map<string, Set<string>>();

  constructor(options: RecordsOptions) {
    this.networksDir = new DocumentDirectory<NetworkRecord>(join(options.stateDir, 'networks'), options.onBadDocument);
    this.sandboxesDir = new DocumentDirectory<SandboxRecord>(join(options.stateDir, 'sandboxes'), options.onBadDocument);
    if (options.watch === true) {
      this.networksDir.watchChanges();
      this.sandboxesDir.watchChanges();
    }
  }

  /** Stops watching the directories. */
  close(): void {
    this.networksDir.close();
    this.sandboxesDir.close();
  }

  /**
   * Picks up store changes (two stats when there are none, nothing at all when watching); returns true when
   * the records changed. `force` stats the directories even when the watch saw nothing (reloads).
   */
  check(force = false): boolean {
    const networksChanged = this.networksDir.check(force);
    const sandboxesChanged = this.sandboxesDir.check(force);
    if (!networksChanged && !sandboxesChanged) return false;
    this.rebuild();
    return true;
  }

  /** The networks to serve, as of the last {@link check}, by name. */
  servedNetworks(): ServedNetwork[] {
    return this.served.map((n) => ({ ...n, addresses: [...n.addresses] }));
  }

  /**
   * Answers a question from `asker` (the query's source address): A, AAAA or ANY for a name of a
   * sandbox on a network the asker's sandbox shares; PTR for such a sandbox's address. A local name asked
   * for another type gets no records (NODATA); anything else, or an asker that is no endpoint, is not local.
   */
  lookup(asker: string, name: string, type: string): LookupResult {
    const source = canonicalAddress(asker);
    const networks = source === undefined ? undefined : this.askers.get(source);
    if (networks === undefined) return { local: false };
    const qname = normalName(name);
    const reverse = addressOfReverseName(qname);
    if (reverse !== undefined) {
      const names = new Set<string>();
      for (const id of networks) for (const n of this.indexes.get(id)?.ptr.get(reverse) ?? []) names.add(n);
      if (names.size === 0) return { local: false };
      if (type !== 'PTR' && type !== 'ANY') return { local: true, answers: [] };
      return { local: true, answers: [...names].sort().map((data) => ({ type: 'PTR', name, ttl: 0, data })) };
    }
    let found = false;
    const ipv4 = new Set<string>();
    const ipv6 = new Set<string>();
    for (const id of networks) {
      const entry = this.indexes.get(id)?.names.get(qname);
      if (entry === undefined) continue;
      found = true;
      for (const a of entry.ipv4) ipv4.add(a);
      for (const a of entry.ipv6) ipv6.add(a);
    }
    if (!found) return { local: false };
    const answers: Answer[] = [];
    if (type === 'A' || type === 'ANY') for (const data of ipv4) answers.push({ type: 'A', name, ttl: 0, data });
    if (type === 'AAAA' || type === 'ANY') for (const data of ipv6) answers.push({ type: 'AAAA', name, ttl: 0, data });
    return { local: true, answers };
  }

  private rebuild(): void {
    const sandboxes = this.sandboxesDir.documents().filter((s) => typeof s?.name === 'string' && Array.isArray(s.endpoints));
    const inUse = new Set<string>();
    for (const s of sandboxes) for (const e of s.endpoints) inUse.add(e.networkId);
    this.served = this.networksDir
      .documents()
      .filter((n) => n?.dns === true && inUse.has(n.id))
      .map((n) => ({ id: n.id, name: n.name, addresses: dnsServersOf(n) }))
      .filter((n) => n.addresses.length > 0)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const servedIds = new Set(this.served.map((n) => n.id));
    this.indexes = new Map([...servedIds].map((id) => [id, { names: new Map(), ptr: new Map() }]));
    this.askers = new Map();
    for (const s of sandboxes) {
      const mine = s.endpoints.filter((e) => servedIds.has(e.networkId));
      if (mine.length === 0) continue;
      const scope = new Set(mine.map((e) => e.networkId));
      for (const e of mine) {
        const index = this.indexes.get(e.networkId);
        if (index === undefined) continue;
        const v4 = e.ipv4 === undefined ? undefined : canonicalAddress(e.ipv4);
        const v6 = e.ipv6 === undefined ? undefined : canonicalAddress(e.ipv6);
        const names = new Set([s.name, s.hostname, ...(Array.isArray(e.aliases) ? e.aliases : [])].filter((n): n is string => typeof n === 'string' && n !== '').map(normalName));
        for (const n of names) {
          let entry = index.names.get(n);
          if (entry === undefined) index.names.set(n, (entry = { ipv4: new Set(), ipv6: new Set() }));
          if (v4 !== undefined) entry.ipv4.add(v4);
          if (v6 !== undefined) entry.ipv6.add(v6);
        }
        for (const a of [v4, v6]) {
          if (a === undefined) continue;
          let ptr = index.ptr.get(a);
          if (ptr === undefined) index.ptr.set(a, (ptr = new Set()));
          ptr.add(s.name);
        }
      }
      // The sandbox asks from any of its addresses (on a network without DNS too) and sees the same names.
      for (const e of s.endpoints) {
        for (const cidr of [e.ipv4, e.ipv6]) {
          const a = typeof cidr === 'string' ? canonicalAddress(cidr) : undefined;
          if (a === undefined) continue;
          let asker = this.askers.get(a);
          if (asker === undefined) this.askers.set(a, (asker = new Set()));
          for (const id of scope) asker.add(id);
        }
      }
    }
  }
}
