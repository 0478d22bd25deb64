import { align, decodeAttrs, encodeAttrs, readString, type Attr } from './attributes.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_ERROR, NLMSGERR_ATTR_MSG } from './constants.js';

/**
 * Netlink message framing and the fixed headers of the rtnetlink families the executor uses:
 * nlmsghdr (16 bytes), ifinfomsg (16), ifaddrmsg (8), rtmsg (12), nlmsgerr. Pure Buffer code.
 */

export const NLMSG_HDRLEN = 16;
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTMSG_LEN = 12;

/** A request before it gets its sequence number: message type, flags and body (fixed header + attributes). */
export interface Request {
  readonly type: number;
  readonly flags: number;
  readonly body: Buffer;
}

/** One received message: header fields plus a view of its body. */
export interface Message {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly body: Buffer;
}

export function encodeMessage(request: Request, seq: number, pid = 0): Buffer {
  const out = Buffer.alloc(NLMSG_HDRLEN + request.body.length);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(request.type, 4);
  out.writeUInt16LE(request.flags, 6);
  out.writeUInt32LE(seq >>> 0, 8);
  out.writeUInt32LE(pid >>> 0, 12);
  request.body.copy(out, NLMSG_HDRLEN);
  return out;
}

/** Splits a datagram into its messages; stops at a truncated or malformed header. */
export function splitMessages(buf: Buffer, length = buf.length): Message[] {
  const out: Message[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= length) {
    const len = buf.readUInt32LE(at);
    if (len < NLMSG_HDRLEN || at + len > length) break;
    out.push({
      type: buf.readUInt16LE(at + 4),
      flags: buf.readUInt16LE(at + 6),
      seq: buf.readUInt32LE(at + 8),
      pid: buf.readUInt32LE(at + 12),
      body: buf.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at += align(len);
  }
  return out;
}

export interface IfInfoMsg {
  readonly family: number;
  readonly type: number;
  readonly index: number;
  readonly flags: number;
  readonly change: number;
}

export function encodeIfInfo(h: Partial<IfInfoMsg>, attrs: readonly Attr[] = []): Buffer {
  const head = Buffer.alloc(IFINFOMSG_LEN);
  head.writeUInt8(h.family ?? 0, 0);
  head.writeUInt16LE(h.type ?? 0, 2);
  head.writeInt32LE(h.index ?? 0, 4);
  head.writeUInt32LE((h.flags ?? 0) >>> 0, 8);
  head.writeUInt32LE((h.change ?? 0) >>> 0, 12);
  return Buffer.concat([head, encodeAttrs(attrs)]);
}

export function decodeIfInfo(body: Buffer): IfInfoMsg {
  return { family: body.readUInt8(0), type: body.readUInt16LE(2), index: body.readInt32LE(4), flags: body.readUInt32LE(8), change: body.readUInt32LE(12) };
}

export interface IfAddrMsg {
  readonly family: number;
  readonly prefixlen: number;
  readonly flags: number;
  readonly scope: number;
  readonly index: number;
}

export function encodeIfAddr(h: Partial<IfAddrMsg>, attrs: readonly Attr[] = []): Buffer {
  const head = Buffer.alloc(IFADDRMSG_LEN);
  head.writeUInt8(h.family ?? 0, 0);
  head.writeUInt8(h.prefixlen ?? 0, 1);
  head.writeUInt8(h.flags ?? 0, 2);
  head.writeUInt8(h.scope ?? 0, 3);
  head.writeUInt32LE(h.index ?? 0, 4);
  return Buffer.concat([head, encodeAttrs(attrs)]);
}

export function decodeIfAddr(body: Buffer): IfAddrMsg {
  return { family: body.readUInt8(0), prefixlen: body.readUInt8(1), flags: body.readUInt8(2), scope: body.readUInt8(3), index: body.readUInt32LE(4) };
}

export interface RtMsg {
  readonly family: number;
  readonly dstLen: number;
  readonly srcLen: number;
  readonly tos: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly flags: number;
}

export function encodeRtMsg(h: Partial<RtMsg>, attrs: readonly Attr[] = []): Buffer {
  const head = Buffer.alloc(RTMSG_LEN);
  [h.family, h.dstLen, h.srcLen, h.tos, h.table, h.protocol, h.scope, h.type].forEach((v, i) => head.writeUInt8(v ?? 0, i));
  head.writeUInt32LE((h.flags ?? 0) >>> 0, 8);
  return Buffer.concat([head, encodeAttrs(attrs)]);
}

export function decodeRtMsg(body: Buffer): RtMsg {
  return {
    family: body.readUInt8(0),
    dstLen: body.readUInt8(1),
    srcLen: body.readUInt8(2),
    tos: body.readUInt8(3),
    table: body.readUInt8(4),
    protocol: body.readUInt8(5),
    scope: body.readUInt8(6),
    type: body.readUInt8(7),
    flags: body.readUInt32LE(8),
  };
}

/** An NLMSG_ERROR message: errno 0 is an acknowledgement; `extack` is the kernel's own sentence, if any. */
export interface ErrorReply {
  readonly errno: number;
  readonly extack?: string;
}

export function decodeError(message: Message): ErrorReply {
  if (message.type !== NLMSG_ERROR) throw new TypeError('not an NLMSG_ERROR message');
  const errno = -message.body.readInt32LE(0) | 0; // "| 0": an ack is errno 0, not -0
  if (!(message.flags & NLM_F_ACK_TLVS) || message.body.length < 4 + NLMSG_HDRLEN) return { errno };
  // The echoed request is only its header when the kernel capped it (NETLINK_CAP_ACK); else all of it.
  const echoedLen = message.body.readUInt32LE(4);
  const capped = (message.flags & NLM_F_CAPPED) !== 0;
  const tlvStart = 4 + align(capped ? NLMSG_HDRLEN : echoedLen);
  const extack = readString(decodeAttrs(message.body, tlvStart), NLMSGERR_ATTR_MSG);
  return extack ? { errno, extack } : { errno };
}
