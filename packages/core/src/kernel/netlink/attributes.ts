/**
 * Netlink attributes (struct rtattr / nlattr): a 4-byte header {u16 length, u16 type}, the
 * payload, then padding to a multiple of 4. Integers are in host byte order (little-endian on the
 * machines Switchyard supports). Pure: encoding returns Buffers, decoding takes them.
 */

export const ALIGNTO = 4;
const HEADER = 4;
// The top two bits of the type say "nested" / "network byte order"; the type itself is below them.
const TYPE_MASK = 0x3fff;

export function align(n: number): number {
  return (n + ALIGNTO - 1) & ~(ALIGNTO - 1);
}

/** One attribute to encode: raw payload bytes, or nested attributes. */
export interface Attr {
  readonly type: number;
  readonly payload: Buffer | readonly Attr[];
}

export function bytesAttr(type: number, payload: Buffer): Attr {
  return { type, payload };
}

export function u8Attr(type: number, value: number): Attr {
  return { type, payload: Buffer.of(value) };
}

export function u16Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return { type, payload: b };
}

/** A 16-bit value in network byte order (big-endian), as the kernel wants ports. */
export function be16Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return { type, payload: b };
}

export function u32Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return { type, payload: b };
}

export function s32Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  return { type, payload: b };
}

/** A NUL-terminated string, as the kernel expects for names and kinds. */
export function stringAttr(type: number, value: string): Attr {
  return { type, payload: Buffer.from(`${value}\0`, 'latin1') };
}

export function nestedAttr(type: number, children: readonly Attr[]): Attr {
  return { type, payload: children };
}

/** Encoded size of one attribute including its trailing padding. */
function sizeOf(attr: Attr): number {
  return align(HEADER + payloadSize(attr));
}

function payloadSize(attr: Attr): number {
  return Buffer.isBuffer(attr.payload) ? attr.payload.length : attr.payload.reduce((n, a) => n + sizeOf(a), 0);
}

function write(attr: Attr, out: Buffer, offset: number): number {
  const length = HEADER + payloadSize(attr);
  out.writeUInt16LE(length, offset);
  out.writeUInt16LE(attr.type, offset + 2);
  let at = offset + HEADER;
  if (Buffer.isBuffer(attr.payload)) {
    attr.payload.copy(out, at);
  } else {
    for (const child of attr.payload) at = write(child, out, at);
  }
  return offset + align(length);
}

/** Encodes a list of attributes back to back, each padded to 4 bytes (padding is zero). */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const out = Buffer.alloc(attrs.reduce((n, a) => n + sizeOf(a), 0));
  let at = 0;
  for (const a of attrs) at = write(a, out, at);
  return out;
}

/**
 * Decoded attributes by type (the last one wins when a type repeats, as in the kernel's own parser).
 * Keeps offsets and makes a Buffer view only for the attributes asked for: a link message carries
 * about fifty attributes and a listing reads five.
 */
export class AttrTable {
  private readonly offsets = new Map<number, number>();

  constructor(private readonly buf: Buffer) {}

  /** Records the attribute whose header starts at `offset`. */
  add(type: number, offset: number): void {
    this.offsets.set(type, offset);
  }

  has(type: number): boolean {
    return this.offsets.has(type);
  }

  /** The payload of the attribute, without header or padding. */
  get(type: number): Buffer | undefined {
    const at = this.offsets.get(type);
    return at === undefined ? undefined : this.buf.subarray(at + HEADER, at + this.buf.readUInt16LE(at));
  }

  keys(): IterableIterator<number> {
    return this.offsets.keys();
  }
}

const EMPTY = Buffer.alloc(0);

/** An empty table, for absent nested attributes. */
export function emptyAttrs(): AttrTable {
  return new AttrTable(EMPTY);
}

/** Decodes the attributes in `buf` between `start` and `end`; stops at a malformed header. */
export function decodeAttrs(buf: Buffer, start = 0, end = buf.length): AttrTable {
  const table = new AttrTable(buf);
  let at = start;
  while (at + HEADER <= end) {
    const length = buf.readUInt16LE(at);
    if (length < HEADER || at + length > end) break;
    table.add(buf.readUInt16LE(at + 2) & TYPE_MASK, at);
    at += align(length);
  }
  return table;
}

export function readU8(table: AttrTable, type: number): number | undefined {
  const b = table.get(type);
  return b && b.length >= 1 ? b.readUInt8(0) : undefined;
}

export function readU32(table: AttrTable, type: number): number | undefined {
  const b = table.get(type);
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
}

/** A string attribute without its terminating NUL. */
export function readString(table: AttrTable, type: number): string | undefined {
  const b = table.get(type);
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString('latin1', 0, nul < 0 ? b.length : nul);
}

/** The attributes nested in one attribute; an empty table when it is absent. */
export function readNested(table: AttrTable, type: number): AttrTable {
  const b = table.get(type);
  return b ? decodeAttrs(b) : emptyAttrs();
}
