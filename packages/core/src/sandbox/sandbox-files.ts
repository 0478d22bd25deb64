import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxRecord } from '../model/types.js';
import { stripPrefix } from '../util/addresses.js';
import { storeIoError } from '../store/document-files.js';

/**
 * Per-sandbox `hosts` and `resolv.conf` that a runtime bind-mounts into its containers. Written on
 * create and whenever the sandbox's addresses change.
 */
export class SandboxFiles {
  constructor(
    private readonly runDir: string,
    private readonly hostResolvConf = '/etc/resolv.conf',
  ) {}

  /** The sandbox's directory: `<runDir>/sandboxes/<id>`. */
  dirFor(sandbox: Pick<SandboxRecord, 'id'>): string {
    return join(this.runDir, 'sandboxes', sandbox.id);
  }

  /**
   * Writes both files and returns the directory; throws SWY_ERR_STORE_IO on a file-system error.
   * Synchronous, and straight into a new sandbox's fresh directory (nobody reads it before the sandbox
   * is committed): a file that is already there is replaced atomically instead.
   */
  async write(sandbox: SandboxRecord): Promise<string> {
    const dir = this.dirFor(sandbox);
    await coded('write', dir, () => {
      // Private up to the sandbox's own directory; its files are bind-mounted into containers (no path walk), readable there.
      makeDir(dir, () => mkdirSync(join(this.runDir, 'sandboxes'), { recursive: true, mode: 0o700 }));
      writeFresh(join(dir, 'hosts'), this.hosts(sandbox));
      writeFresh(join(dir, 'resolv.conf'), this.resolvConf(sandbox));
      return Promise.resolve();
    });
    return dir;
  }

  /**
   * Rewrites `hosts` (what changes when endpoints join or leave), and `resolv.conf` when its name servers
   * changed (an endpoint on a network with DNS joined or left). In place, as Docker does: a container (or
   * `run --sandbox`) has the files bind-mounted, and a bind mount keeps showing the old inode after a
   * rename. New content first, then the length, so a reader never sees an empty file. Synchronous: a few
   * hundred bytes cost microseconds, where each await on the thread pool costs a round trip.
   */
  async writeHosts(sandbox: SandboxRecord): Promise<void> {
    const dir = this.dirFor(sandbox);
    let path = join(dir, 'hosts');
    try {
      rewriteInPlace(path, this.hosts(sandbox), false);
      path = join(dir, 'resolv.conf');
      rewriteInPlace(path, this.resolvConf(sandbox), true);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw storeIoError('write', path, e);
      await this.write(sandbox);
    }
  }

  /** Removes the sandbox's directory; succeeds when it is already gone. Throws SWY_ERR_STORE_IO on a file-system error. */
  async remove(sandbox: Pick<SandboxRecord, 'id'>): Promise<void> {
    const dir = this.dirFor(sandbox);
    await coded('remove', dir, () => rm(dir, { recursive: true, force: true }));
  }

  /** The `hosts` file's content: localhost lines, each endpoint address with the hostname and aliases, then the extra hosts. */
  hosts(sandbox: SandboxRecord): string {
    const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
    for (const ep of sandbox.endpoints) {
      const names = [sandbox.hostname, ...ep.aliases].join(' ');
      if (ep.ipv4) lines.push(`${stripPrefix(ep.ipv4)}\t${names}`);
      if (ep.ipv6) lines.push(`${stripPrefix(ep.ipv6)}\t${names}`);
    }
    for (const h of sandbox.extraHosts) lines.push(`${h.address}\t${h.name}`);
    return lines.join('\n') + '\n';
  }

  /**
   * The `resolv.conf` content: the sandbox's own name servers when it was given some; else the DNS
   * responders of its networks with DNS, in the order it joined them (Podman's way); else the host's
   * non-loopback ones (as Docker does). Then its search domains and options.
   */
  resolvConf(sandbox: SandboxRecord): string {
    const { search, options } = sandbox.dns;
    let { nameservers } = sandbox.dns;
    if (nameservers.length === 0) nameservers = [...new Set(sandbox.endpoints.flatMap((e) => e.dnsServers ?? []))];
    if (nameservers.length === 0) {
      // Like Docker: inherit the host's servers, minus loopback ones a sandbox cannot reach.
      nameservers = resolvConfNameservers(readOrEmpty(this.hostResolvConf)).filter((n) => !n.startsWith('127.') && n !== '::1');
    }
    const lines = nameservers.map((n) => `nameserver ${n}`);
    if (search.length > 0) lines.push(`search ${search.join(' ')}`);
    if (options.length > 0) lines.push(`options ${options.join(' ')}`);
    return lines.join('\n') + '\n';
  }
}

/**
 * Overwrites the file's content in place (same inode): new content from offset 0, then the length. With
 * `onlyIfChanged`, reads it first and leaves it alone when it already says this. Throws ENOENT when the
 * file is missing.
 */
function rewriteInPlace(path: string, text: string, onlyIfChanged: boolean): void {
  const content = Buffer.from(text);
  const fd = openSync(path, 'r+');
  try {
    if (onlyIfChanged) {
      const current = Buffer.alloc(content.length + 1);
      if (readSync(fd, current, 0, current.length, 0) === content.length && current.subarray(0, content.length).equals(content)) return;
    }
    writeSync(fd, content, 0, content.length, 0);
    ftruncateSync(fd, content.length);
  } finally {
    closeSync(fd);
  }
}

/** Makes `dir` (mode 0755; there already is fine), making its parent with `makeParent` first when that is missing. */
function makeDir(dir: string, makeParent: () => void): void {
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw e;
    makeParent();
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  }
}

/** The addresses of a resolv.conf text's `nameserver` lines, in order, as written (loopback ones included). */
export function resolvConfNameservers(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[0] === 'nameserver' && w[1])
    .map((w) => w[1] as string);
}

/** Creates the file with this content; one that exists already is replaced atomically (temp file, rename). */
function writeFresh(path: string, content: string): void {
  try {
    writeFileSync(path, content, { flag: 'wx', mode: 0o644 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, content, { mode: 0o644 });
    renameSync(tmp, path);
  }
}

/** The file's text, or '' when it cannot be read (as a missing host resolv.conf means no servers). */
function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** File-system failures come out as SWY_ERR_STORE_IO naming the path, like the state store's. */
async function coded(action: string, path: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    throw storeIoError(action, path, e);
  }
}
