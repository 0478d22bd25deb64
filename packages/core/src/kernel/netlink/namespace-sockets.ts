import { SwitchyardError } from '../../errors/switchyard-error.js';
import { openSync, closeSync, statfsSync } from 'node:fs';
import type { NetnsRef } from '../../spi/kernel.js';
import { nsKey } from '../describe-step.js';
import { CLONE_NEWNET } from './constants.js';
import { MNT_DETACH, MS_BIND, type Libc } from './libc.js';
import { RouteSocket, syscallError } from './route-socket.js';

const NSFS_MAGIC = 0x6e736673;
const ENOENT = 2;
const EINVAL = 22;

/** A namespace the caller named does not exist (no namespace file at its path). */
export class NamespaceMissing extends Error {
  constructor(readonly ref: NetnsRef) {
    super('the network namespace does not exist');
    this.name = 'NamespaceMissing';
  }
}

interface Opened {
  readonly fd: number;
  socket?: RouteSocket;
}

/**
 * Netlink sockets and namespace fds, one per network namespace. A socket belongs to the namespace
 * its creator was in, so one for another namespace is made by entering it with setns on this (the
 * main) thread, calling socket(), and going back, with nothing in between that could yield.
 *
 * The host socket lives as long as this object. Sockets and fds of other namespaces are released at
 * the end of each executor call (`releaseNamespaces`): opening one costs microseconds, while keeping
 * one would keep its namespace alive after `ip netns del` — links, veth peers and all.
 */
export class NamespaceSockets {
  private hostFd: number | undefined;
  private hostSocket: RouteSocket | undefined;
  private readonly opened = new Map<string, Opened>();

  constructor(
    private readonly c: Libc,
    private readonly netnsDir: string,
  ) {}

  /** Path of a named or path namespace. */
  pathOf(ref: Exclude<NetnsRef, { kind: 'host' }>): string {
    return ref.kind === 'named' ? `${this.netnsDir}/${ref.name}` : ref.path;
  }

  // Our own namespace, opened once before the first setns: after one, /proc/self/ns/net and
  // /proc/thread-self/ns/net both name the namespace the main thread is in, not ours.
  private ownFd(): number {
    this.hostFd ??= openSync('/proc/thread-self/ns/net', 'r');
    return this.hostFd;
  }

  /** An fd naming the namespace (for IFLA_NET_NS_FD and setns); throws NamespaceMissing. */
  fd(ref: NetnsRef): number {
    if (ref.kind === 'host') return this.ownFd();
    return this.entry(ref).fd;
  }

  /** True when a namespace file is there (nothing is opened). */
  exists(ref: NetnsRef): boolean {
    if (ref.kind === 'host') return true;
    try {
      return statfsSync(this.pathOf(ref)).type === NSFS_MAGIC;
    } catch {
      return false;
    }
  }

  private entry(ref: Exclude<NetnsRef, { kind: 'host' }>): Opened {
    const key = nsKey(ref);
    let e = this.opened.get(key);
    if (!e) {
      if (!this.exists(ref)) throw new NamespaceMissing(ref);
      let fd: number;
      try {
        fd = openSync(this.pathOf(ref), 'r');
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new NamespaceMissing(ref);
        if (code === 'EACCES' || code === 'EPERM') {
          throw new SwitchyardError('SWY_ERR_PERMISSION_DENIED', `Not allowed to open the network namespace ${this.pathOf(ref)}`, {
            hint: 'Run as root or with CAP_SYS_ADMIN and CAP_NET_ADMIN (entering a namespace needs both).',
            cause,
          });
        }
        throw cause;
      }
      e = { fd };
      this.opened.set(key, e);
    }
    return e;
  }

  /** The netlink socket of a namespace, opened on first use. */
  socket(ref: NetnsRef): RouteSocket {
    if (ref.kind === 'host') {
      this.hostSocket ??= RouteSocket.open(this.c);
      return this.hostSocket;
    }
    const e = this.entry(ref);
    e.socket ??= this.inside(ref, () => RouteSocket.open(this.c));
    return e.socket;
  }

  /** Runs a synchronous function with this thread inside the namespace, then returns to our own. */
  inside<T>(ref: NetnsRef, fn: () => T): T {
    if (ref.kind === 'host') return fn();
    const own = this.ownFd();
    const target = this.fd(ref);
    if (this.c.setns(target, CLONE_NEWNET) < 0) throw syscallError(this.c, this.c.errno(), `Could not enter ${this.pathOf(ref)}`);
    try {
      const result = fn();
      if (result && typeof (result as { then?: unknown }).then === 'function') throw new TypeError('NamespaceSockets.inside needs a synchronous function');
      return result;
    } finally {
      if (this.c.setns(own, CLONE_NEWNET) < 0) {
        // Nothing sensible can run in the wrong namespace: stop here rather than touch it.
        // eslint-disable-next-line no-unsafe-finally -- this error must replace fn's outcome, whatever it was
        throw new Error(`Switchyard could not return to its own network namespace (${this.c.strerror(this.c.errno())}); the process must exit`);
      }
    }
  }

  /**
   * Creates a network namespace and binds it onto `path` (an existing empty file), as `ip netns add`
   * does in its own process: this thread unshares into a new namespace, bind-mounts its own namespace
   * file onto `path` and returns to ours, with nothing in between that could yield. When the mount
   * fails, leaving the namespace frees it.
   */
  createAt(path: string): void {
    const own = this.ownFd();
    if (this.c.unshare(CLONE_NEWNET) < 0) throw syscallError(this.c, this.c.errno(), 'Could not create a network namespace');
    try {
      if (this.c.mount('/proc/thread-self/ns/net', path, null, MS_BIND, null) < 0) throw syscallError(this.c, this.c.errno(), `Could not bind the new namespace onto ${path}`);
    } finally {
      if (this.c.setns(own, CLONE_NEWNET) < 0) {
        // eslint-disable-next-line no-unsafe-finally -- this error must replace the outcome, whatever it was
        throw new Error(`Switchyard could not return to its own network namespace (${this.c.strerror(this.c.errno())}); the process must exit`);
      }
    }
  }

  /**
   * Unbinds a namespace file (lazily: a process still inside keeps the namespace until it leaves) and
   * removes it, as `ip netns del` does. Returns the errno of a failed unmount other than "not mounted".
   */
  unmount(path: string): number | undefined {
    if (this.c.umount2(path, MNT_DETACH) === 0) return undefined;
    const errno = this.c.errno();
    return errno === EINVAL || errno === ENOENT ? undefined : errno;
  }

  /** The libc text of an errno. */
  describeErrno(errno: number): string {
    return this.c.strerror(errno);
  }

  /** Closes the sockets and fds of every namespace but the host's. */
  releaseNamespaces(): void {
    for (const e of this.opened.values()) {
      e.socket?.close();
      closeSync(e.fd);
    }
    this.opened.clear();
  }

  /** Closes everything, the host socket too; the object can still be used afterwards (it reopens). */
  close(): void {
    this.releaseNamespaces();
    this.hostSocket?.close();
    this.hostSocket = undefined;
    if (this.hostFd !== undefined) closeSync(this.hostFd);
    this.hostFd = undefined;
  }
}
