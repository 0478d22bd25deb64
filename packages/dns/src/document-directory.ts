import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

/**
 * How long after a directory's mtime a look at it stays in doubt: a change within the same timestamp
 * tick leaves the mtime as it was, so until the clock has moved past the tick (the kernel's coarse
 * clock lags by up to a jiffy, 10 ms at HZ=100) the directory is listed again at every check.
 */
const RACY_NS = 30_000_000n;
/** On a file system with whole-second timestamps, two seconds (FAT keeps two-second steps). */
const RACY_COARSE_NS = 2_000_000_000n;

/** What {@link DocumentDirectory} reads of its directory's inode. */
export interface DirectoryStamp {
  /** Inode number. */
  ino: bigint;
  /** Modification time, ns. */
  mtimeNs: bigint;
  /** Change time, ns. */
  ctimeNs: bigint;
}

function statDirectory(dir: string): DirectoryStamp | undefined {
  return statSync(dir, { bigint: true, throwIfNoEntry: false });
}

interface FileEntry<T> {
  /** ino, size, mtime and ctime: a rename over the file changes the inode, an in-place write the times. */
  stamp: string;
  doc: T | undefined;
}

/**
 * The JSON documents of one store collection directory (`<name>.json`, replaced by rename; hidden temp
 * files skipped), kept parsed in memory. {@link check} costs one stat while the directory is unchanged;
 * when its mtime moved (or is too recent to trust) it lists the directory, stats each file and re-reads
 * only the files whose inode or times changed.
 *
 * With {@link watchChanges} on, an inotify watch (fs.watch) marks the directory changed and an unchanged
 * directory costs no system call at all. That is exact for a server answering in the same event loop: the
 * watch's event is queued when the rename happens, so it is ready before any query sent after the change
 * (a client's, once its connect returned), and the loop delivers ready events in the order they became
 * ready. Without a watch (none possible, or it failed), every check stats the directory as above.
 */
export class DocumentDirectory<T> {
  private files = new Map<string, FileEntry<T>>();
  private dirStamp: string | undefined;
  private racy = true;
  private watcher: FSWatcher | undefined;
  /** Set by the watch's events; a check with it clear (and no racy window open) does nothing. */
  private dirty = true;
  private watching = false;

  constructor(
    /** The directory. */
    readonly dir: string,
    private readonly onBadDocument: (path: string, error: unknown) => void = () => undefined,
    private readonly statDir: (dir: string) => DirectoryStamp | undefined = statDirectory,
  ) {}

  /**
   * Watches the directory for changes from now on (see the class comment); a directory that does not
   * exist yet is watched from the first check that finds it.
   */
  watchChanges(): void {
    this.watching = true;
    this.startWatch();
  }

  /** Stops watching. */
  close(): void {
    this.watching = false;
    this.watcher?.close();
    this.watcher = undefined;
  }

  private startWatch(): void {
    if (!this.watching || this.watcher !== undefined) return;
    try {
      const w = watch(this.dir, { persistent: false }, () => {
        this.dirty = true;
      });
      // The directory went away or the watch broke: back to a stat per check, which watches again once it can.
      w.on('error', () => this.dropWatch(w));
      w.on('close', () => this.dropWatch(w));
      this.watcher = w;
      this.dirty = true;
    } catch {
      // No such directory yet, or no inotify watch left: stat per check until one can be made.
    }
  }

  private dropWatch(w: FSWatcher): void {
    if (this.watcher !== w) return;
    this.watcher = undefined;
    this.dirty = true;
    w.close();
  }

  /**
   * Picks up changes; returns true when a document appeared, changed or went away since the last check.
   * `force` looks (a stat) even when the watch saw nothing: for a reload, whatever the order of events.
   */
  check(force = false): boolean {
    if (!force && this.watcher !== undefined && !this.dirty && !this.racy) return false;
    this.dirty = false;
    const before = Date.now();
    const st = this.statDir(this.dir);
    const stamp = st === undefined ? 'absent' : `${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
    if (stamp === this.dirStamp && !this.racy) return false;
    this.dirStamp = stamp;
    // In doubt while the directory's last change is within a tick of now: a second change in the same
    // tick would not move its mtime, so the next check lists it again.
    if (st === undefined) this.racy = false;
    else {
      const nowNs = BigInt(before) * 1_000_000n;
      const window = st.mtimeNs % 1_000_000_000n === 0n ? RACY_COARSE_NS : RACY_NS;
      this.racy = nowNs - st.mtimeNs < window;
      // A directory that exists can be watched now (it may not have existed at watchChanges()).
      if (this.watcher === undefined) this.startWatch();
    }
    return this.rescan(st !== undefined);
  }

  /** Every document, parsed (unreadable ones left out). */
  documents(): T[] {
    const docs: T[] = [];
    for (const entry of this.files.values()) if (entry.doc !== undefined) docs.push(entry.doc);
    return docs;
  }

  private rescan(exists: boolean): boolean {
    let names: string[] = [];
    if (exists) {
      try {
        names = readdirSync(this.dir).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
      } catch {
        names = [];
      }
    }
    let changed = false;
    const next = new Map<string, FileEntry<T>>();
    for (const name of names) {
      const path = join(this.dir, name);
      // Plain (not bigint) stats are cheaper; mtimeMs/ctimeMs keep sub-microsecond steps.
      const fst = statSync(path, { throwIfNoEntry: false });
      if (fst === undefined) continue; // Removed meanwhile.
      const stamp = `${fst.ino}:${fst.size}:${fst.mtimeMs}:${fst.ctimeMs}`;
      const known = this.files.get(name);
      if (known !== undefined && known.stamp === stamp) {
        next.set(name, known);
        continue;
      }
      changed = true;
      next.set(name, { stamp, doc: this.read(path) });
    }
    if (next.size !== this.files.size) changed = true;
    this.files = next;
    return changed;
  }

  private read(path: string): T | undefined {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.onBadDocument(path, e);
      return undefined;
    }
  }
}
