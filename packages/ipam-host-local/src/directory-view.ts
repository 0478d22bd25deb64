import { readdirSync, statSync, utimesSync } from 'node:fs';

export interface DirectoryViewPorts {
  /** Trimmed content of an address file, or undefined when it is gone. */
  readRecord(address: string): string | undefined;
  /** Whether a directory entry is an address file (not `lock`, `last_reserved_ip.N`, …). */
  isAddressName(name: string): boolean;
  /** Called for an empty address file found during a scan. */
  onEmptyRecord(address: string): void;
}

/**
 * This process's picture of a network directory's address files (address -> content, content -> addresses), kept
 * exact across locked sections without re-reading the directory. After each section it sets the directory's mtime to a
 * value of its own (1 s in the past, random fraction); any other writer (CNI's binary, another process) changes the
 * mtime to "now", so a different mtime at the next section means "scan again" and an equal one means nobody else wrote.
 */
export class DirectoryView {
  private readonly records = new Map<string, string>();
  private readonly byContent = new Map<string, Set<string>>();
  private filled = false;
  private stamp: bigint | undefined;
  private inSync = false;
  private touched = false;

  constructor(
    private readonly dir: string,
    private readonly ports: DirectoryViewPorts,
  ) {}

  private mtime(): bigint | undefined {
    try {
      return statSync(this.dir, { bigint: true }).mtimeNs;
    } catch {
      return undefined;
    }
  }

  /** Whether the view is known to match the directory now (nobody else wrote it since our last stamp, or we just scanned). */
  get exact(): boolean {
    return this.inSync;
  }

  /** Start of a locked section: the view is exact when nobody else touched the directory since our stamp. */
  begin(): void {
    this.inSync = this.filled && this.stamp !== undefined && this.mtime() === this.stamp;
    this.touched = false;
  }

  /** End of a locked section (lock still held): stamp the directory if the view is exact and anything happened. */
  end(): void {
    if (!this.inSync || !this.touched) return;
    const seconds = Math.floor(Date.now() / 1000) - 1 + Math.random();
    try {
      utimesSync(this.dir, seconds, seconds);
      this.stamp = this.mtime();
    } catch {
      // Not allowed to set times (another owner's directory): every miss scans, which is only slower.
      this.stamp = undefined;
    }
  }

  /** Records what an address file holds (after we wrote or read it). */
  set(address: string, content: string): void {
    this.delete(address);
    this.records.set(address, content);
    let holders = this.byContent.get(content);
    if (!holders) this.byContent.set(content, (holders = new Set()));
    holders.add(address);
  }

  /** Notes a change of ours to the directory that is not an address file (so the section ends with a stamp). */
  touch(): void {
    this.touched = true;
  }

  /** Records that an address file is gone. */
  delete(address: string): void {
    this.touched = true;
    const content = this.records.get(address);
    if (content === undefined) return;
    this.records.delete(address);
    const holders = this.byContent.get(content);
    holders?.delete(address);
    if (holders?.size === 0) this.byContent.delete(content);
  }

  /**
   * Brings the view in line with the directory, unless it is known to be exact: one readdir, reading only files not
   * seen before, or every file when `reread` (a file another process replaced keeps its name).
   */
  sync(reread: boolean): void {
    if (this.inSync) return;
    const present = new Set<string>();
    for (const name of readdirSync(this.dir)) {
      const seen = this.records.has(name);
      if (!seen && !this.ports.isAddressName(name)) continue;
      if (seen && this.filled && !reread) {
        present.add(name);
        continue;
      }
      const content = this.ports.readRecord(name);
      if (content === undefined) continue;
      if (content === '') {
        this.ports.onEmptyRecord(name);
        continue;
      }
      present.add(name);
      this.set(name, content);
    }
    for (const name of [...this.records.keys()]) if (!present.has(name)) this.delete(name);
    this.filled = true;
    this.inSync = true;
    this.touched = true;
  }

  /** Addresses whose content is one of `contents` (as of the last sync). */
  holding(contents: string[]): string[] {
    return contents.flatMap((c) => [...(this.byContent.get(c) ?? [])]);
  }

  /** Whether an address file exists (as of the last sync). */
  has(address: string): boolean {
    return this.records.has(address);
  }

  /** Every address file (as of the last sync). */
  addresses(): string[] {
    return [...this.records.keys()];
  }
}
