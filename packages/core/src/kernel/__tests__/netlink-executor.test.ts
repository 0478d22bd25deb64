import { decodeAttrs, readString, readU32, stringAttr, u32Attr } from '../netlink/attributes.js';
import * as C from '../netlink/constants.js';
import type { Libc } from '../netlink/libc.js';
import { decodeIfAddr, decodeIfInfo, encodeIfInfo, encodeMessage, splitMessages } from '../netlink/messages.js';
import { NetlinkExecutor } from '../netlink/netlink-executor.js';
import { HOST_NS, type KernelStep } from '../../spi/kernel.js';
import { isSwitchyardError } from '../../errors/switchyard-error.js';

/**
 * A scripted kernel behind the Libc port: it answers RTM_GETLINK from a table of links, acknowledges
 * every change it is sent (recording it), and refuses the one change `refuse` picks with an errno.
 */
class ScriptedKernel implements Libc {
  readonly changes: string[] = [];
  private readonly queue: Buffer[] = [];
  private lastErrno = 0;

  constructor(
    private readonly links: Record<string, { index: number; flags: number; mtu: number }>,
    private readonly refuse: (change: string) => number | undefined,
  ) {}

  socket(): number {
    return 42;
  }
  setsockopt(): number {
    return 0;
  }
  setns(): number {
    return 0;
  }
  // Namespaces are not scripted: these tests never create or delete one.
  unshare(): number {
    return this.refuseSyscall();
  }
  mount(): number {
    return this.refuseSyscall();
  }
  umount2(): number {
    return this.refuseSyscall();
  }
  private refuseSyscall(): number {
    this.lastErrno = 1;
    return -1;
  }
  close(): number {
    return 0;
  }
  errno(): number {
    return this.lastErrno;
  }
  strerror(errno: number): string {
    return ({ 17: 'File exists', 19: 'No such device' } as Record<number, string>)[errno] ?? `errno ${errno}`;
  }

  send(_fd: number, buf: Buffer, length: number): number {
    const [m] = splitMessages(Buffer.from(buf.subarray(0, length)));
    if (!m) throw new Error('nothing sent');
    if (m.type === C.RTM_GETLINK) {
      const name = readString(decodeAttrs(m.body, 16), C.IFLA_IFNAME) ?? '';
      const link = this.links[name];
      if (!link) return this.answer(m.seq, C.Errno.ENODEV, length);
      const body = encodeIfInfo({ index: link.index, flags: link.flags }, [stringAttr(C.IFLA_IFNAME, name), u32Attr(C.IFLA_MTU, link.mtu)]);
      this.queue.push(encodeMessage({ type: C.RTM_NEWLINK, flags: 0, body }, m.seq));
      return this.answer(m.seq, 0, length);
    }
    const change = summarize(m.type, m.body);
    const errno = this.refuse(change) ?? 0;
    if (errno === 0) this.changes.push(change);
    return this.answer(m.seq, errno, length);
  }

  // Queues the NLMSG_ERROR (errno 0: ack) and reports the whole request as sent.
  private answer(seq: number, errno: number, sent: number): number {
    const body = Buffer.alloc(4 + 16);
    body.writeInt32LE(-errno, 0);
    this.queue.push(encodeMessage({ type: C.NLMSG_ERROR, flags: C.NLM_F_CAPPED, body }, seq));
    return sent;
  }

  recv(_fd: number, buf: Buffer): number {
    const next = this.queue.shift();
    if (!next) {
      this.lastErrno = C.Errno.EAGAIN;
      return -1;
    }
    next.copy(buf);
    return next.length;
  }
}

// One word per change, e.g. "newlink create v0", "setlink #3 flags=1/1", "newaddr #3 /24".
function summarize(type: number, body: Buffer): string {
  if (type === C.RTM_NEWLINK || type === C.RTM_DELLINK) {
    const h = decodeIfInfo(body);
    const attrs = decodeAttrs(body, 16);
    const name = readString(attrs, C.IFLA_IFNAME);
    if (type === C.RTM_DELLINK) return `dellink ${name}`;
    if (h.index === 0) return `newlink create ${name}`;
    const master = readU32(attrs, C.IFLA_MASTER);
    return `setlink #${h.index} flags=${h.flags}/${h.change}${master === undefined ? '' : ` master=${master}`}`;
  }
  if (type === C.RTM_NEWADDR || type === C.RTM_DELADDR) return `${type === C.RTM_NEWADDR ? 'newaddr' : 'deladdr'} #${decodeIfAddr(body).index} /${decodeIfAddr(body).prefixlen}`;
  if (type === C.RTM_NEWROUTE || type === C.RTM_DELROUTE) return type === C.RTM_NEWROUTE ? 'newroute' : 'delroute';
  return `type ${type}`;
}

const LINKS = { eth0: { index: 3, flags: 0, mtu: 1500 }, br0: { index: 2, flags: C.IFF_UP, mtu: 1500 }, v0: { index: 5, flags: 0, mtu: 1500 } };

const plan: KernelStep[] = [
  { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: 'v0', peer: { name: 'v1' } } },
  { ns: HOST_NS, op: { op: 'link.set', name: 'v0', master: 'br0', up: true } },
  { ns: HOST_NS, op: { op: 'addr.add', dev: 'eth0', cidr: '10.1.0.2/24' } },
  { ns: HOST_NS, op: { op: 'route.add', dst: 'default', via: '10.1.0.1' } },
];

describe('NetlinkExecutor over a scripted kernel', () => {
  it('sends one request per step, after looking up the links each step names', async () => {
    const k = new ScriptedKernel(LINKS, () => undefined);
    const applied = await new NetlinkExecutor({ libc: k }).apply(plan);
    expect(k.changes).toEqual(['newlink create v0', `setlink #5 flags=${C.IFF_UP}/${C.IFF_UP} master=2`, 'newaddr #3 /24', 'newroute']);
    expect(applied.steps[1]).toMatchObject({ before: { up: false, mtu: 1500, master: null } });
  });

  it('undoes exactly the steps that ran, newest first, when the kernel refuses one, and reports the refusal with its code', async () => {
    const k = new ScriptedKernel(LINKS, (change) => (change === 'newroute' ? C.Errno.EEXIST : undefined));
    const error = await new NetlinkExecutor({ libc: k }).apply(plan).catch((e: unknown) => e);
    expect(isSwitchyardError(error) && [error.code, error.message]).toEqual(['SWY_ERR_KERNEL_OP_FAILED', 'Could not add route default via 10.1.0.1 in the host namespace: File exists']);
    expect(k.changes).toEqual(['newlink create v0', `setlink #5 flags=${C.IFF_UP}/${C.IFF_UP} master=2`, 'newaddr #3 /24', 'deladdr #3 /24', `setlink #5 flags=0/${C.IFF_UP} master=0`, 'dellink v0']);
  });

  it('treats deleting a missing link with ifExists as done and goes on with the next step', async () => {
    const k = new ScriptedKernel(LINKS, (change) => (change === 'dellink gone' ? C.Errno.ENODEV : undefined));
    const applied = await new NetlinkExecutor({ libc: k }).apply([
      { ns: HOST_NS, op: { op: 'link.del', name: 'gone', ifExists: true } },
      { ns: HOST_NS, op: { op: 'link.set', name: 'eth0', up: true } },
    ]);
    expect(applied.steps.length).toBe(2);
    expect(k.changes).toEqual([`setlink #3 flags=${C.IFF_UP}/${C.IFF_UP}`]);
  });

  it('refuses a plan with bad input before sending anything', async () => {
    const k = new ScriptedKernel(LINKS, () => undefined);
    const error = await new NetlinkExecutor({ libc: k }).apply([...plan, { ns: HOST_NS, op: { op: 'addr.add', dev: 'eth0', cidr: '10.1.0.300/24' } }]).catch((e: unknown) => e);
    expect(isSwitchyardError(error, 'SWY_ERR_INVALID_CIDR')).toBe(true);
    expect(k.changes).toEqual([]);
  });
});
