import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '@switchyard/core';
import { isJsonObject } from './config.js';

/**
 * One attachment's cache entry, as libcni keeps in /var/lib/cni/results: what ADD ran with and what it
 * returned, so that DEL and CHECK run with the same config and arguments even after the network's
 * config changed, and GC knows which attachments exist.
 */
export interface CacheEntry {
  /** Format marker, as libcni writes it. */
  kind: 'cniCacheV1';
  /** The Switchyard network the attachment belongs to (two networks may share a CNI name). */
  networkId: string;
  /** The CNI network name (the configuration list's `name`). */
  networkName: string;
  /** The container id the ADD ran with (`CNI_CONTAINERID`). */
  containerId: string;
  /** The interface name the ADD ran with (`CNI_IFNAME`). */
  ifName: string;
  /** The list as it was run, and the negotiated version. */
  config: JsonObject;
  /** The CNI version negotiated with the plugins. */
  cniVersion: string;
  /** The `CNI_ARGS` key/value pairs the ADD ran with. */
  cniArgs: Array<[string, string]>;
  /** The runtime-config values (`runtimeConfig`) the ADD passed for the plugins' capabilities. */
  capabilityArgs: JsonObject;
  /** The chain's final result (absent while ADD is still running). */
  result?: JsonObject;
}

/** Result cache files under `<dir>/results/<network>-<container>-<ifname>`, written atomically, 0600. */
export class ResultCache {
  constructor(private readonly dir: string) {}

  private get resultsDir(): string {
    return join(this.dir, 'results');
  }

  private file(networkName: string, containerId: string, ifName: string): string {
    return join(this.resultsDir, `${networkName}-${containerId}-${ifName}`);
  }

  /** The entry of one attachment; undefined when there is none or the file is unreadable or not a cache entry. */
  get(networkName: string, containerId: string, ifName: string): CacheEntry | undefined {
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.file(networkName, containerId, ifName), 'utf8'));
      return isEntry(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes (or replaces) an attachment's entry atomically, mode 0600; throws on a file-system error. */
  put(entry: CacheEntry): void {
    mkdirSync(this.resultsDir, { recursive: true, mode: 0o700 });
    const target = this.file(entry.networkName, entry.containerId, entry.ifName);
    const temp = `${target}.tmp${process.pid}`;
    writeFileSync(temp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temp, target);
  }

  /** Removes an attachment's entry; succeeds when there is none. */
  delete(networkName: string, containerId: string, ifName: string): void {
    rmSync(this.file(networkName, containerId, ifName), { force: true });
  }

  /** Every entry of a CNI network name (of every name, without one). */
  list(networkName?: string): CacheEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.resultsDir);
    } catch {
      return [];
    }
    const out: CacheEntry[] = [];
    for (const name of names) {
      if ((networkName !== undefined && !name.startsWith(`${networkName}-`)) || name.includes('.tmp')) continue;
      try {
        const parsed: unknown = JSON.parse(readFileSync(join(this.resultsDir, name), 'utf8'));
        if (isEntry(parsed) && (networkName === undefined || parsed.networkName === networkName)) out.push(parsed);
      } catch {
        // A file being replaced or not ours: skip it.
      }
    }
    return out;
  }
}

function isEntry(value: unknown): value is CacheEntry {
  return isJsonObject(value) && value.kind === 'cniCacheV1' && typeof value.containerId === 'string' && typeof value.ifName === 'string' && isJsonObject(value.config);
}
