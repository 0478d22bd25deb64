import { createRequire } from 'node:module';

/**
 * The few libc calls the netlink executor needs, bound through koffi on first use so that importing
 * core costs nothing when netlink is not used. Every call is synchronous and returns -1 with `errno()`
 * set on failure, as in C. Files (namespace files, /proc/sys) are opened with node:fs: its fds are
 * the same kernel fds.
 */
export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, length: number): number;
  send(fd: number, buf: Buffer, length: number, flags: number): number;
  recv(fd: number, buf: Buffer, length: number, flags: number): number;
  setns(fd: number, nstype: number): number;
  unshare(flags: number): number;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: null): number;
  umount2(target: string, flags: number): number;
  close(fd: number): number;
  errno(): number;
  strerror(errno: number): string;
}

interface Koffi {
  load(name: string): { func(signature: string): (...args: unknown[]) => unknown };
  errno(): number;
}

export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0x80000;
export const MSG_TRUNC = 0x20;
/** mount(2) flag: bind mount. */
export const MS_BIND = 4096;
/** umount2(2) flag: detach now, finish when the last user goes. */
export const MNT_DETACH = 2;

let bound: Libc | undefined;

/** The process's libc, bound on first call. */
export function libc(): Libc {
  if (bound) return bound;
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');
  const fn = <T>(signature: string): T => lib.func(signature) as T;
  const strerror = fn<(e: number) => string>('const char *strerror(int errnum)');
  bound = {
    socket: fn('int socket(int domain, int type, int protocol)'),
    setsockopt: fn('int setsockopt(int fd, int level, int name, const void *value, uint32_t length)'),
    send: fn('intptr_t send(int fd, const void *buf, size_t length, int flags)'),
    recv: fn('intptr_t recv(int fd, _Out_ void *buf, size_t length, int flags)'),
    setns: fn('int setns(int fd, int nstype)'),
    unshare: fn('int unshare(int flags)'),
    mount: fn('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)'),
    umount2: fn('int umount2(const char *target, int flags)'),
    close: fn('int close(int fd)'),
    errno: () => koffi.errno(),
    strerror: (e) => strerror(e),
  };
  return bound;
}
