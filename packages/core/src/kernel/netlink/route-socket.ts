import * as C from './constants.js';
import { MSG_TRUNC, SOCK_CLOEXEC, SOCK_RAW, type Libc } from './libc.js';
import { decodeError, encodeMessage, splitMessages, type Message, type Request } from './messages.js';

/** The kernel refused a netlink request: errno plus the kernel's own sentence (extended ack), if it gave one. */
export class NetlinkError extends Error {
  constructor(
    readonly errno: number,
    readonly extack: string | undefined,
    text: string,
  ) {
    super(text);
    this.name = 'NetlinkError';
  }
}

// Big enough for the largest datagram the kernel builds for a dump (32 KiB) with room to spare.
const RECV_BUFFER_SIZE = 64 * 1024;
// A backstop only: rtnetlink answers inside send(), so a reply is already queued when recv runs.
const RECV_TIMEOUT_SECONDS = 5;
const NLM_F_DUMP_INTR = 0x10;
const DUMP_ATTEMPTS = 3;

/**
 * One NETLINK_ROUTE socket, bound to the network namespace it was created in. Requests are
 * synchronous: every one carries NLM_F_ACK (or is a dump that ends in NLMSG_DONE), and replies are
 * matched by sequence number, so a reader never waits for an answer that will not come.
 */
export class RouteSocket {
  private seq = 0;
  private readonly buffer = Buffer.allocUnsafe(RECV_BUFFER_SIZE); // only the bytes recv wrote are read

  private constructor(
    private readonly c: Libc,
    private fd: number,
  ) {}

  /** Opens a socket in the calling thread's current network namespace. */
  static open(c: Libc): RouteSocket {
    const fd = c.socket(C.AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, C.NETLINK_ROUTE);
    if (fd < 0) throw syscallError(c, c.errno(), 'Could not open a netlink socket');
    const on = Buffer.alloc(4);
    on.writeInt32LE(1);
    const timeout = Buffer.alloc(16); // struct timeval { tv_sec, tv_usec } on 64-bit Linux
    timeout.writeBigInt64LE(BigInt(RECV_TIMEOUT_SECONDS));
    for (const [level, name, value] of [
      [C.SOL_NETLINK, C.NETLINK_EXT_ACK, on],
      [C.SOL_NETLINK, C.NETLINK_CAP_ACK, on],
      [C.SOL_SOCKET, C.SO_RCVTIMEO, timeout],
    ] as const) {
      if (c.setsockopt(fd, level, name, value, value.length) < 0) {
        const errno = c.errno();
        c.close(fd);
        throw syscallError(c, errno, 'Could not configure a netlink socket');
      }
    }
    return new RouteSocket(c, fd);
  }

  /** Sends one request and returns the messages answering it (none for a plain ack); throws NetlinkError when the kernel refuses. */
  request(request: Request): Message[] {
    const seq = this.send({ ...request, flags: request.flags | C.NLM_F_REQUEST | C.NLM_F_ACK });
    const replies: Message[] = [];
    for (;;) {
      for (const m of this.receive()) {
        if (m.seq !== seq) continue; // left over from an earlier, abandoned request
        if (m.type === C.NLMSG_ERROR) {
          const { errno, extack } = decodeError(m);
          if (errno !== 0) throw kernelRefusal(this.c, errno, extack);
          return replies;
        }
        replies.push(m);
      }
    }
  }

  /** Dumps a table (links, addresses, routes) and returns every entry; retried when the table changed mid-dump. */
  dump(request: Request): Message[] {
    for (let attempt = 1; ; attempt++) {
      const { entries, interrupted } = this.dumpOnce(request);
      if (!interrupted || attempt === DUMP_ATTEMPTS) return entries;
    }
  }

  private dumpOnce(request: Request): { entries: Message[]; interrupted: boolean } {
    const seq = this.send({ ...request, flags: request.flags | C.NLM_F_REQUEST | C.NLM_F_DUMP });
    const entries: Message[] = [];
    let interrupted = false;
    for (;;) {
      for (const m of this.receive()) {
        if (m.seq !== seq) continue;
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === C.NLMSG_DONE) {
          const status = m.body.length >= 4 ? -m.body.readInt32LE(0) | 0 : 0;
          if (status !== 0) throw kernelRefusal(this.c, status, undefined);
          return { entries, interrupted };
        }
        if (m.type === C.NLMSG_ERROR) {
          const { errno, extack } = decodeError(m);
          throw kernelRefusal(this.c, errno, extack);
        }
        entries.push(m);
      }
    }
  }

  private send(request: Request): number {
    if (this.fd < 0) throw new NetlinkError(C.Errno.EBADF, undefined, 'The netlink socket is closed');
    this.seq = (this.seq + 1) >>> 0 || 1;
    const bytes = encodeMessage(request, this.seq);
    for (;;) {
      const sent = this.c.send(this.fd, bytes, bytes.length, 0);
      if (sent === bytes.length) return this.seq;
      const errno = sent < 0 ? this.c.errno() : C.Errno.EINVAL;
      if (errno !== C.Errno.EINTR) throw syscallError(this.c, errno, 'Could not send a netlink request');
    }
  }

  private receive(): Message[] {
    for (;;) {
      const n = Number(this.c.recv(this.fd, this.buffer, this.buffer.length, MSG_TRUNC));
      if (n > this.buffer.length) throw new NetlinkError(C.Errno.ENOBUFS, undefined, `A netlink reply of ${n} bytes did not fit the ${this.buffer.length}-byte buffer`);
      // Copied once per datagram: the receive buffer is reused by the next recv.
      if (n >= 0) return splitMessages(Buffer.from(this.buffer.subarray(0, n)));
      const errno = this.c.errno();
      if (errno === C.Errno.EAGAIN) throw new NetlinkError(errno, undefined, `The kernel did not answer a netlink request within ${RECV_TIMEOUT_SECONDS} s`);
      if (errno !== C.Errno.EINTR) throw syscallError(this.c, errno, 'Could not read a netlink reply');
    }
  }

  close(): void {
    if (this.fd >= 0) this.c.close(this.fd);
    this.fd = -1;
  }
}

/** The kernel's refusal: its sentence (extended ack) when it gave one, then the errno's text. */
export function kernelRefusal(c: Libc, errno: number, extack: string | undefined): NetlinkError {
  const text = c.strerror(errno);
  return new NetlinkError(errno, extack, extack ? `${extack} (${text})` : text);
}

/** A failed system call on our side: what we were doing, then the errno's text. */
export function syscallError(c: Libc, errno: number, doing: string): NetlinkError {
  return new NetlinkError(errno, undefined, `${doing}: ${c.strerror(errno)}`);
}
