import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressOwner } from '@switchyard/core';
import { writeInPlace } from './in-place-write.js';
import { unlinkQuietly } from './scratch-dir.js';

/** Directory (under the data dir, outside every network directory CNI walks) holding the owner indexes. */
export const INDEX_DIR_NAME = '.switchyard-index';

interface IndexEntry {
  id: string;
  ifname: string;
  addresses: string[];
}

/**
 * Owner -> addresses, one small file per owner, so lookups and releases by owner need no directory scan.
 * It is only a hint: readers verify every address against its address file, and a missing or torn entry means
 * "scan once", so entries are written in place, without the temp-file dance address files need.
 */
export class OwnerIndex {
  constructor(readonly dir: string) {}

  ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private fileFor(owner: AddressOwner): string {
    // Hashed: owner ids are arbitrary strings, file names are not.
    const key = createHash('sha256').update(`${owner.id.trim()}\r\n${owner.ifname}`).digest('hex').slice(0, 40);
    return join(this.dir, `${key}.json`);
  }

  /** The addresses recorded for the owner, or undefined when the index has no entry for it. */
  read(owner: AddressOwner): string[] | undefined {
    let entry: IndexEntry;
    try {
      entry = JSON.parse(readFileSync(this.fileFor(owner), 'utf8')) as IndexEntry;
    } catch {
      return undefined;
    }
    if (entry.id !== owner.id.trim() || entry.ifname !== owner.ifname || !Array.isArray(entry.addresses)) return undefined;
    return entry.addresses.filter((a): a is string => typeof a === 'string');
  }

  write(owner: AddressOwner, addresses: string[]): void {
    const file = this.fileFor(owner);
    if (addresses.length === 0) return unlinkQuietly(file);
    const entry: IndexEntry = { id: owner.id.trim(), ifname: owner.ifname, addresses: [...new Set(addresses)] };
    try {
      writeInPlace(file, JSON.stringify(entry));
    } catch (e) {
      // A pool release removed the directory while this store stayed cached: make it again.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.ensure();
      writeInPlace(file, JSON.stringify(entry));
    }
  }

  add(owner: AddressOwner, address: string): void {
    const current = this.read(owner) ?? [];
    if (!current.includes(address)) this.write(owner, [...current, address]);
  }

  remove(owner: AddressOwner, address: string): void {
    const current = this.read(owner);
    if (current?.includes(address))
      this.write(
        owner,
        current.filter((a) => a !== address),
      );
  }

  /** Removes the index directory when no entry is left (after a pool release). */
  removeIfEmpty(): void {
    try {
      if (readdirSync(this.dir).length === 0) rmdirSync(this.dir);
    } catch {
      // Already gone: nothing to tidy.
    }
  }

  /** Removes every entry (the network holds no address any more). */
  removeAll(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
