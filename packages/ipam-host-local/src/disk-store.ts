import { existsSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileLock, SwitchyardError, detailValue, quoteValue, silentLogger, type AddressOwner, type Logger } from '@switchyard/core';
import { formatAddress, tryParseAddress } from './address.js';
import { ownerMatches, type AllocationStore, type StoredOwner } from './allocator.js';
import { DirectoryView } from './directory-view.js';
import { writeInPlace } from './in-place-write.js';
import { OwnerIndex, INDEX_DIR_NAME } from './owner-index.js';
import { runExclusive } from './process-queue.js';
import { ScratchDir, codeOf, unlinkQuietly } from './scratch-dir.js';

/** CNI's rule for network names, which become directory names. */
export const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** CNI host-local's default data directory. */
export const CNI_DATA_DIR = '/var/lib/cni/networks';
const LAST_RESERVED = 'last_reserved_ip.';
const LINE_BREAK = '\r\n';
// Cheap pre-filter before parsing a directory entry as an address (skips `lock`, `last_reserved_ip.N`).
const ADDRESS_CHARS = /^[0-9a-f:.]+$/;

/** Where a {@link DiskAllocationStore} keeps its files. */
export interface DiskAllocationStoreOptions {
  /** Directory holding one sub-directory per network (CNI's `dataDir`). */
  dataDir: string;
  /** Network name: the sub-directory. */
  network: string;
  /** Where warnings go (e.g. unreadable address files); default silent. */
  logger?: Logger;
  /** How long to wait for the lock; default 60 s. */
  lockTimeoutMs?: number;
}

/** The content CNI host-local writes into an address file. */
export function recordContent(owner: AddressOwner): string {
  return `${owner.id.trim()}${LINE_BREAK}${owner.ifname}`;
}

/** Reads an address file's content as CNI does (trimmed); `<id>` alone is the format before ifnames were stored. */
export function parseRecord(content: string): StoredOwner {
  const at = content.indexOf(LINE_BREAK);
  return at < 0 ? { id: content } : { id: content.slice(0, at), ifname: content.slice(at + LINE_BREAK.length) };
}

/** Bytes: the name is a directory name (255 at most) and, with a suffix, the owner index's. */
const MAX_NETWORK_NAME_BYTES = 200;

export function assertNetworkName(network: string): void {
  if (typeof network !== 'string' || !NETWORK_NAME.test(network) || Buffer.byteLength(network) > MAX_NETWORK_NAME_BYTES) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Network name ${quoteValue(network)} cannot name a host-local data directory.`, {
      hint: `Use up to ${MAX_NETWORK_NAME_BYTES} letters, digits, '_', '.' and '-', starting with a letter or digit (CNI's rule for network names).`,
      details: { network: detailValue(network) },
    });
  }
}

/**
 * CNI host-local's on-disk store, file for file: `<dataDir>/<network>/<ip>` holding `<id>\r\n<ifname>` (mode 0600),
 * `last_reserved_ip.<set>`, and flock on `<dataDir>/<network>/lock`, so CNI's binary can share the directory.
 * Better than CNI's: address files appear whole (linked from a temp file), and an owner index outside the network
 * directory plus an in-memory view make lookups and releases by owner O(1) instead of reading every file.
 */
export class DiskAllocationStore implements AllocationStore {
  /** The data directory, absolute. */
  readonly dataDir: string;
  /** The network name (its sub-directory). */
  readonly network: string;
  /** `<dataDir>/<network>`: the directory holding the address files and the lock. */
  readonly networkDir: string;
  private readonly lockPath: string;
  private readonly scratch: ScratchDir;
  private readonly index: OwnerIndex;
  private readonly view: DirectoryView;
  private readonly logger: Logger;
  private readonly lockTimeoutMs: number | undefined;
  /** last_reserved_ip contents as we last wrote or read them; trusted only while the view is exact. */
  private readonly lastSeen = new Map<number, string | undefined>();
  private holding = false;
  private ready = false;

  constructor(options: DiskAllocationStoreOptions) {
    assertNetworkName(options.network);
    this.dataDir = resolve(options.dataDir);
    this.network = options.network;
    this.networkDir = join(this.dataDir, options.network);
    this.lockPath = join(this.networkDir, 'lock');
    this.scratch = new ScratchDir(this.dataDir);
    this.index = new OwnerIndex(join(this.dataDir, INDEX_DIR_NAME, options.network));
    this.logger = options.logger ?? silentLogger;
    this.lockTimeoutMs = options.lockTimeoutMs;
    this.view = new DirectoryView(this.networkDir, {
      readRecord: (address) => this.readRecord(address),
      isAddressName: (name) => this.isAddressName(name),
      onEmptyRecord: (address) => {
        unlinkQuietly(this.pathOf(address));
        this.logger.warn('host-local: reclaimed an empty address file left by a crashed allocation', { network: this.network, address });
      },
    });
  }

  locked<T>(fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.lockPath, async () => {
      try {
        mkdirSync(this.networkDir, { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new SwitchyardError('SWY_ERR_STORE_IO', `Could not create host-local's directory ${this.networkDir} (${codeOf(e) ?? String(e)})`, {
          hint: 'Check that the IPAM data directory is writable by this user, and that its disk is neither full nor read-only.',
          cause: e,
          details: { path: this.networkDir, errno: codeOf(e) },
        });
      }
      const lock = await FileLock.acquire(this.lockPath, { timeoutCode: 'SWY_ERR_IPAM_LOCK_TIMEOUT', ...(this.lockTimeoutMs === undefined ? {} : { timeoutMs: this.lockTimeoutMs }) });
      this.holding = true;
      try {
        if (!this.ready) {
          this.scratch.ensure();
          this.index.ensure();
          this.ready = true;
        }
        this.view.begin();
        if (!this.view.exact) this.lastSeen.clear();
        try {
          return await fn();
        } finally {
          this.view.end();
        }
      } finally {
        this.holding = false;
        lock.release();
      }
    });
  }

  private assertLocked(): void {
    if (!this.holding) throw new Error('DiskAllocationStore used outside locked(): wrap the call in store.locked()');
  }

  private pathOf(address: string): string {
    return join(this.networkDir, address);
  }

  private lastReservedPath(setIndex: number): string {
    return join(this.networkDir, `${LAST_RESERVED}${setIndex}`);
  }

  /** Trimmed content of an address file, or undefined when there is none. */
  private readRecord(address: string): string | undefined {
    try {
      return readFileSync(this.pathOf(address), 'utf8').trim();
    } catch (e) {
      if (codeOf(e) === 'ENOENT' || codeOf(e) === 'EISDIR') return undefined;
      throw e;
    }
  }

  private isAddressName(name: string): boolean {
    if (!ADDRESS_CHARS.test(name)) return false;
    const a = tryParseAddress(name);
    return a !== undefined && formatAddress(a.family, a.value) === name;
  }

  /** Reads one address file, updating the view; whether `owner` holds it. */
  private recordIs(address: string, owner: AddressOwner): boolean {
    const content = this.readRecord(address);
    if (!content) {
      this.view.delete(address);
      return false;
    }
    this.view.set(address, content);
    return ownerMatches(parseRecord(content), owner);
  }

  async reserve(address: string, owner: AddressOwner, setIndex: number): Promise<boolean> {
    this.assertLocked();
    const content = recordContent(owner);
    // Cheap refusal first, so walking a nearly full range costs no temp file per taken address.
    if (this.view.exact ? this.view.has(address) : existsSync(this.pathOf(address))) return false;
    if (!this.scratch.createExclusive(this.pathOf(address), content)) return false;
    this.view.set(address, content);
    try {
      writeInPlace(this.lastReservedPath(setIndex), address);
      this.lastSeen.set(setIndex, address);
      this.index.add(owner, address);
    } catch (e) {
      // All or nothing: an address whose bookkeeping failed (disk full) is not kept.
      unlinkQuietly(this.pathOf(address));
      this.view.delete(address);
      throw e;
    }
    return true;
  }

  async lastReserved(setIndex: number): Promise<string | undefined> {
    this.assertLocked();
    // Another writer changes last_reserved_ip only together with an address file, which makes the view inexact.
    if (this.view.exact && this.lastSeen.has(setIndex)) return this.lastSeen.get(setIndex);
    let last: string | undefined;
    try {
      last = readFileSync(this.lastReservedPath(setIndex), 'utf8').trim() || undefined;
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw e;
    }
    this.lastSeen.set(setIndex, last);
    return last;
  }

  async forgetLastReserved(setIndex: number): Promise<void> {
    this.assertLocked();
    unlinkQuietly(this.lastReservedPath(setIndex));
    this.lastSeen.set(setIndex, undefined);
    this.view.touch();
  }

  /**
   * The owner's addresses: from the view when nobody else wrote the directory since our last section; else from the
   * index (each verified against its file); on an index miss, one rescan (finds files CNI's binary wrote). `thorough`
   * re-reads every file in that rescan (releases use it: a file CNI replaced under the same name must not be missed).
   */
  async addressesOf(owner: AddressOwner, options: { thorough?: boolean } = {}): Promise<string[]> {
    this.assertLocked();
    const contents = [recordContent(owner), owner.id.trim()];
    // Hits are re-read: a file rewritten in place (not something upstream CNI does) leaves the directory mtime alone.
    if (this.view.exact) return this.view.holding(contents).filter((a) => this.recordIs(a, owner));
    const listed = this.index.read(owner);
    if (listed && listed.length > 0) {
      const verified = listed.filter((a) => this.recordIs(a, owner));
      if (verified.length !== listed.length) this.index.write(owner, verified);
      if (verified.length > 0) return verified;
    }
    this.view.sync(options.thorough ?? false);
    // Confirm each match on disk: the view may be stale for a file another process replaced.
    const found = this.view.holding(contents).filter((a) => this.recordIs(a, owner));
    if (found.length > 0) this.index.write(owner, found);
    return found;
  }

  async ownerOf(address: string): Promise<StoredOwner | undefined> {
    this.assertLocked();
    const content = this.readRecord(address);
    return content ? parseRecord(content) : undefined;
  }

  /** O(1): reads the one file to learn (and check) its owner, unlinks it, fixes that owner's index entry. */
  async release(address: string, owner?: AddressOwner): Promise<boolean> {
    this.assertLocked();
    const content = this.readRecord(address);
    if (content === undefined) {
      this.view.delete(address);
      return false;
    }
    const holder = parseRecord(content);
    if (owner && !ownerMatches(holder, owner)) {
      this.view.set(address, content);
      return false;
    }
    try {
      unlinkSync(this.pathOf(address));
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw e;
    }
    this.view.delete(address);
    const indexed = owner ?? (holder.ifname === undefined ? undefined : (holder as AddressOwner));
    if (indexed) this.index.remove(indexed, address);
    return true;
  }

  async addresses(): Promise<string[]> {
    this.assertLocked();
    this.view.sync(false);
    return this.view.addresses();
  }

  /** Drops the network's index when no address file is left (stale entries a crash left go with it). */
  async tidyIndex(): Promise<void> {
    this.assertLocked();
    if ((await this.addresses()).length === 0) this.index.removeAll();
    else this.index.removeIfEmpty();
  }
}
