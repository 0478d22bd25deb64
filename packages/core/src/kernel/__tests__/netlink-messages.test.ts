import { ipBytes, formatIp, formatLinkAddress, macBytes } from '../netlink/addresses.js';
import { decodeAttrs, encodeAttrs, nestedAttr, readNested, readString, readU32, stringAttr, u16Attr, u32Attr, u8Attr } from '../netlink/attributes.js';
import * as C from '../netlink/constants.js';
import { encodeOp, linksToResolve } from '../netlink/encode-op.js';
import { classifyErrno } from '../netlink/errno-reasons.js';
import { addrInfos, decodeLinkMessage, flagWords, linkInfos, linkStateOf, routeInfos } from '../netlink/listings.js';
import { decodeError, decodeIfAddr, decodeIfInfo, decodeRtMsg, encodeIfAddr, encodeIfInfo, encodeMessage, splitMessages, type Message } from '../netlink/messages.js';
import { HOST_NS, type KernelStep } from '../../spi/kernel.js';

// Byte layouts from linux/netlink.h and linux/rtnetlink.h; integers are little-endian (x86-64, arm64).

const hex = (b: Buffer): string => b.toString('hex');
const u16 = (n: number): string => hex(Buffer.from([n & 0xff, n >> 8]));
const u32 = (n: number): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return hex(b);
};
/** An attribute header: u16 length (header + payload, unpadded), u16 type. */
const header = (length: number, type: number): string => u16(length) + u16(type);
const ZERO_IFINFO = '00'.repeat(16);

// `ip link add va mtu 1400 address 02:00:00:00:00:0a type veth peer name vb address 02:00:00:00:00:0b; ip link set va up;
// ip addr add 10.9.0.1/24 dev va; ip link set lo up` in a fresh namespace, then an RTM_GETLINK and an RTM_GETROUTE dump, as received.
const CAPTURED_LINK_DUMP = Buffer.from(
  [
    'TAQAABAAAgABAAAAfFIAAAAABAMBAAAASQABAAAAAAAHAAMAbG8AAAgADQDoAwAABQAQAAAAAAAFABEAAAAAAAUAQwABAAAACAAEAAAAAQAIADIAAAAAAAgA',
    'MwAAAAAACAAbAAAAAAAIAB4AAAAAAAgAPQAAAAAACAAfAAEAAAAIACgA//8AAAgAKQAAAAEACAA6AAAAAQAIAD8AAAABAAgAQAAAAAEACAA7APj/BwAIADwA',
    '//8AAAgAQgAAAAAACAAgAAEAAAAFACEAAQAAAAgAIwAAAAAACAAvAAAAAAAIADAAAAAAAAYARAAAAAAABgBFAAAAAAAFACcAAAAAAAoAAQAAAAAAAAAAAAoA',
    'AgAAAAAAAAAAAMwAFwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGQABwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMACsABQACAAAAAAAMAAYAbm9xdWV1ZQDAARoAjAACAIgAAQAAAAAAAAAAAAAA',
    'AAABAAAAAQAAAAEAAAABAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAABAnAADoAwAAAAAAAAAAAAAAAAAAAAAAAAEAAAAwAQoACAABAAAAAIAUAAUA//8AAGoKBACUQgAA6AMAAPQAAgAAAAAAQAAAAAAAAQABAAAAAQAAAAEA',
    'AAABAAAA/////6APAADoAwAA/////4A6CQCAUQEAAwAAAFgCAAAQAAAAAAAAAAEAAAABAAAAAQAAAGDqAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD/////',
    'AAAAAAAAAAAQJwAA6AMAAAEAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAgO42AAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAQAAAAAAAD//wAA/////wEAAAAAAAAAAAAAAAAAAAAUAAcAAAAAAAAAAAAAAAAAAAAAAAUACAAAAAAAJAAOAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAABAA+gAQAQYBkBAAAEAACAAEAAAB8UgAAAAABAAIAAAACEAAAAAAAAAcAAwB2YgAACAANAOgDAAAFABAAAgAAAAUAEQAAAAAABQBDAAAA',
    'AAAIAAQA3AUAAAgAMgBEAAAACAAzAP//AAAIABsAAAAAAAgAHgAAAAAACAA9AAAAAAAIAB8AAgAAAAgAKAD//wAACAApAAAAAQAIADoAAAABAAgAPwAAAAEA',
    'CABAAAAAAQAIADsA+P8HAAgAPAD//wAACABCAAAAAAAIACAAAgAAAAUAIQAAAAAACAAjAAEAAAAIAC8AAAAAAAgAMAABAAAABgBEAAAAAAAGAEUAAAAAAAUA',
    'JwAAAAAACgABAAIAAAAACwAACgACAP///////wAAzAAXAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAZAAHAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwAKwAFAAIAAAAAABAAEgAJAAEAdmV0aAAA',
    'AAAIAAUAAwAAAAkABgBub29wAAAAAMABGgCMAAIAiAABAAAAAAAAAAAAAAAAAAEAAAABAAAAAQAAAAEAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAECcAAOgDAAAAAAAAAAAAAAAAAAAAAAAAAQAAADABCgAIAAEAAAAAABQA',
    'BQD//wAAcgoEAKiGAADoAwAA9AACAAAAAABAAAAA3AUAAAEAAAABAAAAAQAAAAEAAAD/////oA8AAOgDAAAAAAAAgDoJAIBRAQADAAAAWAIAABAAAAAAAAAA',
    'AQAAAAEAAAABAAAAYOoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAABAnAADoAwAAAQAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAQAAAAAA',
    'AAAAAAAAAAAAAAAAAACA7jYAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAP//AAD/////AQAAAAAAAAAAAAAAAAAAABQABwAAAAAA',
    'AAAAAAAAAAAAAAAABQAIAAAAAAAkAA4AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAD6ABABBgGQEAAAQAAIAAQAAAHxSAAAAAAEAAwAAAAMQ',
    'AAAAAAAABwADAHZhAAAIAA0A6AMAAAUAEAADAAAABQARAAAAAAAFAEMAAAAAAAgABAB4BQAACAAyAEQAAAAIADMA//8AAAgAGwAAAAAACAAeAAAAAAAIAD0A',
    'AAAAAAgAHwACAAAACAAoAP//AAAIACkAAAABAAgAOgAAAAEACAA/AAAAAQAIAEAAAAABAAgAOwD4/wcACAA8AP//AAAIAEIAAAAAAAgAIAACAAAABQAhAAAA',
    'AAAIACMAAQAAAAgALwAAAAAACAAwAAEAAAAGAEQAAAAAAAYARQAAAAAABQAnAAAAAAAKAAEAAgAAAAAKAAAKAAIA////////AADMABcAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAABkAAcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAADAArAAUAAgAAAAAAEAASAAkAAQB2ZXRoAAAAAAgABQACAAAADAAGAG5vcXVldWUAwAEaAIwAAgCIAAEAAAAAAAAAAAAAAAAA',
    'AQAAAAEAAAABAAAAAQAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAQJwAA6AMAAAAAAAAAAAAAAAAAAAAAAAABAAAAMAEKAAgAAQAAAAAAFAAFAP//AAByCgQAIDsAAOgDAAD0AAIAAAAAAEAAAAB4BQAAAQAAAAEAAAABAAAA',
    'AQAAAP////+gDwAA6AMAAAAAAACAOgkAgFEBAAMAAABYAgAAEAAAAAAAAAABAAAAAQAAAAEAAABg6gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAAA',
    'AAAAAAAAECcAAOgDAAABAAAAAAAAAAAAAAABAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAIDuNgAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAEAAAAAAAA//8AAP////8BAAAAAAAAAAAAAAAAAAAAFAAHAAAAAAAAAAAAAAAAAAAAAAAFAAgAAAAAACQADgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAQAPoAEAEGA',
  ].join(''),
  'base64',
);
const CAPTURED_ROUTE_DUMP = Buffer.from(
  [
    'PAAAABgAAgACAAAAfFIAAAIYAAD+Av0BEAAAAAgADwD+AAAACAABAAoJAAAIAAcACgkAAQgABAADAAAAPAAAABgAAgACAAAAfFIAAAIgAAD/Av4CAAAAAAgA',
    'DwD/AAAACAABAAoJAAEIAAcACgkAAQgABAADAAAAPAAAABgAAgACAAAAfFIAAAIgAAD/Av0DEAAAAAgADwD/AAAACAABAAoJAP8IAAcACgkAAQgABAADAAAA',
    'PAAAABgAAgACAAAAfFIAAAIIAAD/Av4CAAAAAAgADwD/AAAACAABAH8AAAAIAAcAfwAAAQgABAABAAAAPAAAABgAAgACAAAAfFIAAAIgAAD/Av4CAAAAAAgA',
    'DwD/AAAACAABAH8AAAEIAAcAfwAAAQgABAABAAAAPAAAABgAAgACAAAAfFIAAAIgAAD/Av0DAAAAAAgADwD/AAAACAABAH////8IAAcAfwAAAQgABAABAAAA',
    'dAAAABgAAgACAAAAfFIAAAqAAAD/AgACAAAAAAgADwD/AAAAFAABAAAAAAAAAAAAAAAAAAAAAAEIAAYAAAAAAAgABAABAAAAJAAMAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAAABQAUAAAAAAA=',
  ].join(''),
  'base64',
);

describe('netlink attributes', () => {
  it('encodes an integer attribute as a 4-byte header followed by its value', () => {
    expect(hex(encodeAttrs([u32Attr(C.IFLA_MTU, 1400)]))).toBe(header(8, 4) + u32(1400));
  });

  it('terminates strings with NUL and pads every attribute to 4 bytes with zeros', () => {
    expect(hex(encodeAttrs([stringAttr(C.IFLA_IFNAME, 'lo'), u8Attr(1, 7), u16Attr(2, 0x1234)]))).toBe(header(7, 3) + '6c6f0000' + header(5, 1) + '07000000' + header(6, 2) + '34120000');
  });

  it('gives a nested attribute the padded length of its children', () => {
    const bytes = encodeAttrs([nestedAttr(C.IFLA_LINKINFO, [stringAttr(C.IFLA_INFO_KIND, 'veth'), nestedAttr(C.IFLA_INFO_DATA, [])])]);
    // kind: 4 + 5 bytes, padded to 12; empty data: 4; linkinfo: 4 + 12 + 4 = 20
    expect(hex(bytes)).toBe(header(20, 18) + header(9, 1) + hex(Buffer.from('veth\0')) + '000000' + header(4, 2));
  });

  it('decodes what it encodes, nested tables included, ignoring the nested-flag bit of the type', () => {
    const bytes = encodeAttrs([stringAttr(3, 'eth0'), nestedAttr(18, [stringAttr(1, 'bridge')]), u32Attr(4, 9000)]);
    bytes.writeUInt16LE(18 | 0x8000, 14); // NLA_F_NESTED, as newer kernels set on nests
    const table = decodeAttrs(bytes);
    expect(readString(table, 3)).toBe('eth0');
    expect(readU32(table, 4)).toBe(9000);
    expect(readString(readNested(table, 18), 1)).toBe('bridge');
  });

  it('stops at an attribute whose length runs past the buffer instead of reading beyond it', () => {
    const bytes = Buffer.from(header(8, 4) + u32(1) + header(40, 5) + u32(2), 'hex');
    expect([...decodeAttrs(bytes).keys()]).toEqual([4]);
  });
});

describe('netlink message framing', () => {
  it('writes nlmsghdr as length, type, flags, sequence and port id before the body', () => {
    const msg = encodeMessage({ type: C.RTM_GETLINK, flags: C.NLM_F_REQUEST | C.NLM_F_ACK, body: Buffer.alloc(16) }, 42);
    expect(hex(msg.subarray(0, 16))).toBe(u32(32) + u16(18) + u16(5) + u32(42) + u32(0));
  });

  it('writes ifinfomsg, ifaddrmsg and rtmsg fields at their offsets', () => {
    expect(hex(encodeIfInfo({ family: 7, type: 1, index: 3, flags: 1, change: 1 }))).toBe('0700' + u16(1) + u32(3) + u32(1) + u32(1));
    expect(hex(encodeIfAddr({ family: 10, prefixlen: 64, flags: 2, scope: 0, index: 5 }))).toBe('0a400200' + u32(5));
    const rt = Buffer.from('02180000fe030000' + u32(4) + header(8, 1) + '0a000000', 'hex');
    expect(decodeRtMsg(rt)).toEqual({ family: 2, dstLen: 24, srcLen: 0, tos: 0, table: 254, protocol: 3, scope: 0, type: 0, flags: 4 });
    expect(decodeIfAddr(encodeIfAddr({ family: 2, prefixlen: 24, index: 9 }))).toEqual({ family: 2, prefixlen: 24, flags: 0, scope: 0, index: 9 });
    expect(decodeIfInfo(encodeIfInfo({ index: 12, flags: 0x1003 }))).toEqual({ family: 0, type: 0, index: 12, flags: 0x1003, change: 0 });
  });

  it('splits a datagram holding several messages, each aligned to 4 bytes', () => {
    const a = encodeMessage({ type: 16, flags: 2, body: Buffer.from('010203', 'hex') }, 1);
    const b = encodeMessage({ type: 3, flags: 2, body: Buffer.alloc(4) }, 1);
    const datagram = Buffer.concat([a, Buffer.alloc(1), b]);
    const messages = splitMessages(datagram);
    expect(messages.map((m) => [m.type, m.body.length])).toEqual([
      [16, 3],
      [3, 4],
    ]);
  });

  it('reads the errno and the kernel sentence out of an NLMSG_ERROR with extended-ack attributes', () => {
    const echoed = encodeMessage({ type: C.RTM_NEWLINK, flags: 5, body: Buffer.alloc(0) }, 7);
    const body = Buffer.concat([Buffer.from(u32(0xffffffa1), 'hex'), echoed, encodeAttrs([stringAttr(C.NLMSGERR_ATTR_MSG, 'Unknown device type')])]);
    const error: Message = { type: C.NLMSG_ERROR, flags: C.NLM_F_CAPPED | C.NLM_F_ACK_TLVS, seq: 7, pid: 0, body };
    expect(decodeError(error)).toEqual({ errno: 95, extack: 'Unknown device type' });
    expect(decodeError({ ...error, flags: 0, body: Buffer.concat([Buffer.alloc(4), echoed]) })).toEqual({ errno: 0 });
  });
});

describe('addresses as iproute2 prints them', () => {
  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['fd00::2', 'fd00::2'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['0:0:0:0:0:ffff:a00:1', '::ffff:10.0.0.1'],
    ['0:0:0:0:0:0:a00:1', '::10.0.0.1'],
    ['10.1.2.3', '10.1.2.3'],
  ])('writes %s as %s', (input, printed) => {
    expect(formatIp(ipBytes(input))).toBe(printed);
  });

  it('writes link addresses as lower-case hex pairs and reads MACs back to bytes', () => {
    expect(formatLinkAddress(macBytes('02:42:ac:11:00:0a'))).toBe('02:42:ac:11:00:0a');
  });
});

describe('kernel operations as rtnetlink requests', () => {
  it('creates a veth pair with the peer, as a whole ifinfomsg, inside VETH_INFO_PEER, naming its namespace by fd', () => {
    const req = encodeOp({ op: 'link.add', kind: 'veth', name: 'v0', peer: { name: 'p0', netns: { kind: 'named', name: 'sb' } } }, { peerNetnsFd: 7 });
    expect(req.type).toBe(C.RTM_NEWLINK);
    expect(req.flags).toBe(C.NLM_F_CREATE | C.NLM_F_EXCL);
    const peer = ZERO_IFINFO + header(7, C.IFLA_IFNAME) + '70300000' + header(8, C.IFLA_NET_NS_FD) + u32(7);
    const info = header(9, C.IFLA_INFO_KIND) + hex(Buffer.from('veth\0')) + '000000' + header(4 + 4 + 32, C.IFLA_INFO_DATA) + header(4 + 32, C.VETH_INFO_PEER) + peer;
    expect(hex(req.body)).toBe(ZERO_IFINFO + header(7, C.IFLA_IFNAME) + '76300000' + header(4 + info.length / 2, C.IFLA_LINKINFO) + info);
  });

  it('puts mtu, MAC, group, namespace and parent of a new link in the top-level attributes and the mode in IFLA_INFO_DATA', () => {
    const req = encodeOp({ op: 'link.add', kind: 'macvlan', name: 'mv0', parent: 'eth0', mode: 'bridge', mtu: 1400, mac: '02:00:00:00:00:01', group: 5, netns: HOST_NS }, { parentIndex: 4, netnsFd: 9 });
    const attrs = decodeAttrs(req.body, 16);
    expect(readString(attrs, C.IFLA_IFNAME)).toBe('mv0');
    expect(readU32(attrs, C.IFLA_MTU)).toBe(1400);
    expect(hex(attrs.get(C.IFLA_ADDRESS) ?? Buffer.alloc(0))).toBe('020000000001');
    expect(readU32(attrs, C.IFLA_GROUP)).toBe(5);
    expect(readU32(attrs, C.IFLA_NET_NS_FD)).toBe(9);
    expect(readU32(attrs, C.IFLA_LINK)).toBe(4);
    const info = readNested(attrs, C.IFLA_LINKINFO);
    expect(readString(info, C.IFLA_INFO_KIND)).toBe('macvlan');
    expect(readU32(readNested(info, C.IFLA_INFO_DATA), C.IFLA_MACVLAN_MODE)).toBe(C.MACVLAN_MODE.bridge);
  });

  it('encodes ipvlan mode and flag as u16 values and a vlan id as u16', () => {
    const ipvlan = readNested(readNested(decodeAttrs(encodeOp({ op: 'link.add', kind: 'ipvlan', name: 'i0', parent: 'e', mode: 'l3s', flag: 'vepa' }, { parentIndex: 2 }).body, 16), C.IFLA_LINKINFO), C.IFLA_INFO_DATA);
    expect(hex(ipvlan.get(C.IFLA_IPVLAN_MODE) ?? Buffer.alloc(0))).toBe(u16(2));
    expect(hex(ipvlan.get(C.IFLA_IPVLAN_FLAGS) ?? Buffer.alloc(0))).toBe(u16(2));
    const vlan = readNested(readNested(decodeAttrs(encodeOp({ op: 'link.add', kind: 'vlan', name: 'e.7', parent: 'e', vlanId: 7 }, { parentIndex: 2 }).body, 16), C.IFLA_LINKINFO), C.IFLA_INFO_DATA);
    expect(hex(vlan.get(C.IFLA_VLAN_ID) ?? Buffer.alloc(0))).toBe(u16(7));
  });

  it('encodes a vxlan link as iproute2 6.1 does (bytes captured with strace): proxy, id, local, learning, then the port in network byte order', () => {
    const dataOf = (op: Parameters<typeof encodeOp>[0]): string => hex(readNested(decodeAttrs(encodeOp(op).body, 16), C.IFLA_LINKINFO).get(C.IFLA_INFO_DATA) ?? Buffer.alloc(0));
    // `ip link add vxa type vxlan id 4096 dstport 4789 local 10.9.9.1 nolearning proxy`
    expect(dataOf({ op: 'link.add', kind: 'vxlan', name: 'vxa', vni: 4096, port: 4789, local: '10.9.9.1', learning: false, proxy: true })).toBe(
      '05000b0001000000080001000010000008000400' + '0a090901' + '0500070000000000' + '06000f0012b50000',
    );
    // `ip link add vxb mtu 1400 type vxlan id 300 dstport 4789 local fd00::1 learning`: LOCAL6, no proxy attribute
    expect(dataOf({ op: 'link.add', kind: 'vxlan', name: 'vxb', vni: 300, port: 4789, local: 'fd00::1', learning: true, proxy: false, mtu: 1400 })).toBe(
      '080001002c010000' + '14001100fd000000000000000000000000000001' + '0500070001000000' + '06000f0012b50000',
    );
    // Unnormalised (defaults left out): port 4789, no learning, proxy on; no local address.
    expect(dataOf({ op: 'link.add', kind: 'vxlan', name: 'vxc', vni: 0xffffff })).toBe('05000b0001000000' + '08000100ffffff00' + '0500070000000000' + '06000f0012b50000');
    const attrs = decodeAttrs(encodeOp({ op: 'link.add', kind: 'vxlan', name: 'vxc', vni: 7, port: 8472 }).body, 16);
    expect(readString(readNested(attrs, C.IFLA_LINKINFO), C.IFLA_INFO_KIND)).toBe('vxlan');
    expect(attrs.has(C.IFLA_LINK)).toBe(false);
    expect(hex(readNested(readNested(attrs, C.IFLA_LINKINFO), C.IFLA_INFO_DATA).get(C.IFLA_VXLAN_PORT) ?? Buffer.alloc(0))).toBe('2118');
    expect(linksToResolve({ op: 'link.add', kind: 'vxlan', name: 'vxc', vni: 7 })).toEqual({});
  });

  it('changes link attributes in one message: up and promisc through flags and change mask, nomaster as master 0, rename with the move', () => {
    const up = encodeOp({ op: 'link.set', name: 'x', up: true, promisc: false, master: null }, { index: 6 });
    expect(decodeIfInfo(up.body)).toMatchObject({ index: 6, flags: C.IFF_UP, change: C.IFF_UP | C.IFF_PROMISC });
    expect(readU32(decodeAttrs(up.body, 16), C.IFLA_MASTER)).toBe(0);
    const move = encodeOp({ op: 'link.set', name: 'x', netns: { kind: 'named', name: 'sb' }, newName: 'eth0', up: false }, { index: 6, netnsFd: 11 });
    const attrs = decodeAttrs(move.body, 16);
    expect(readU32(attrs, C.IFLA_NET_NS_FD)).toBe(11);
    expect(readString(attrs, C.IFLA_IFNAME)).toBe('eth0');
    expect(decodeIfInfo(move.body)).toMatchObject({ flags: 0, change: C.IFF_UP });
    expect(move.flags & C.NLM_F_CREATE).toBe(0);
  });

  it("sets bridge-port flags through the bridge's slave data", () => {
    const req = encodeOp({ op: 'bridge.port', name: 'p1', hairpin: true, isolated: true, learning: false }, { index: 3 });
    const info = readNested(decodeAttrs(req.body, 16), C.IFLA_LINKINFO);
    expect(readString(info, C.IFLA_INFO_SLAVE_KIND)).toBe('bridge');
    const data = readNested(info, C.IFLA_INFO_SLAVE_DATA);
    expect([data.get(C.IFLA_BRPORT_MODE)?.[0], data.get(C.IFLA_BRPORT_ISOLATED)?.[0], data.get(C.IFLA_BRPORT_LEARNING)?.[0]]).toEqual([1, 1, 0]);
  });

  it('adds an address with IFA_LOCAL and IFA_ADDRESS, NODAD in the header and NOPREFIXROUTE in IFA_FLAGS', () => {
    const v6 = encodeOp({ op: 'addr.add', dev: 'eth0', cidr: 'fd00::2/64', nodad: true }, { devIndex: 2 });
    expect(decodeIfAddr(v6.body)).toEqual({ family: C.AF_INET6, prefixlen: 64, flags: C.IFA_F_NODAD, scope: 0, index: 2 });
    const both = encodeOp({ op: 'addr.add', dev: 'eth0', cidr: 'fd00::2/64', nodad: true, noprefixroute: true }, { devIndex: 2 });
    expect(decodeIfAddr(both.body).flags).toBe(0);
    expect(readU32(decodeAttrs(both.body, 8), C.IFA_FLAGS)).toBe(C.IFA_F_NODAD | C.IFA_F_NOPREFIXROUTE);
    const v4 = encodeOp({ op: 'addr.add', dev: 'eth0', cidr: '10.1.0.2/24', nodad: true }, { devIndex: 2 });
    const attrs = decodeAttrs(v4.body, 8);
    expect(decodeIfAddr(v4.body).flags).toBe(0); // DAD exists for IPv6 only
    expect([hex(attrs.get(C.IFA_LOCAL) ?? Buffer.alloc(0)), hex(attrs.get(C.IFA_ADDRESS) ?? Buffer.alloc(0))]).toEqual(['0a010002', '0a010002']);
    expect(decodeIfAddr(encodeOp({ op: 'addr.add', dev: 'lo', cidr: '127.0.0.2/8' }, { devIndex: 1 }).body).scope).toBe(C.RT_SCOPE_HOST);
  });

  it('adds routes as "boot" unicast routes in the main table, link-scoped without a gateway, and deletes them matching any protocol', () => {
    const viaGw = encodeOp({ op: 'route.add', dst: 'default', via: '10.1.0.1', family: 4 });
    expect(decodeRtMsg(viaGw.body)).toEqual({ family: C.AF_INET, dstLen: 0, srcLen: 0, tos: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 0 });
    expect([...decodeAttrs(viaGw.body, 12).keys()]).toEqual([C.RTA_GATEWAY]);
    const onDev = encodeOp({ op: 'route.add', dst: '10.2.0.0/16', dev: 'eth0', metric: 20, mtu: 1400, src: '10.1.0.2', family: 4 }, { devIndex: 3 });
    expect(decodeRtMsg(onDev.body)).toMatchObject({ dstLen: 16, scope: C.RT_SCOPE_LINK });
    const attrs = decodeAttrs(onDev.body, 12);
    expect([readU32(attrs, C.RTA_OIF), readU32(attrs, C.RTA_PRIORITY), readU32(readNested(attrs, C.RTA_METRICS), C.RTAX_MTU)]).toEqual([3, 20, 1400]);
    expect(hex(attrs.get(C.RTA_DST) ?? Buffer.alloc(0))).toBe('0a020000');
    const onlink = encodeOp({ op: 'route.add', dst: 'default', via: 'fd00::1', dev: 'eth0', onlink: true, family: 6 }, { devIndex: 3 });
    expect(decodeRtMsg(onlink.body)).toMatchObject({ family: C.AF_INET6, scope: 0, flags: C.RTNH_F_ONLINK });
    const del = encodeOp({ op: 'route.del', dst: '10.2.0.0/16', family: 4 });
    expect(decodeRtMsg(del.body)).toMatchObject({ protocol: 0, type: 0, scope: C.RT_SCOPE_NOWHERE, table: 254 });
    expect(del.type).toBe(C.RTM_DELROUTE);
  });

  it('deletes a link by name, so no lookup is needed first', () => {
    const req = encodeOp({ op: 'link.del', name: 'gone' });
    expect(readString(decodeAttrs(req.body, 16), C.IFLA_IFNAME)).toBe('gone');
    expect(linksToResolve({ op: 'link.del', name: 'gone' })).toEqual({});
    expect(linksToResolve({ op: 'link.set', name: 'a', master: 'br0' })).toEqual({ index: 'a', master: 'br0' });
  });

  it('deletes a link group with IFLA_GROUP and neither index nor name, and moves a link into a group with IFLA_GROUP', () => {
    const del = encodeOp({ op: 'group.del', group: 21335 });
    expect(del.type).toBe(C.RTM_DELLINK);
    expect(decodeIfInfo(del.body).index).toBe(0);
    const attrs = decodeAttrs(del.body, 16);
    expect(readU32(attrs, C.IFLA_GROUP)).toBe(21335);
    expect(readString(attrs, C.IFLA_IFNAME)).toBeUndefined();
    expect(linksToResolve({ op: 'group.del', group: 1 })).toEqual({});
    const set = encodeOp({ op: 'link.set', name: 'eth0', newName: 'swyr0', group: 7 }, { index: 4 });
    expect(readU32(decodeAttrs(set.body, 16), C.IFLA_GROUP)).toBe(7);
  });
});

describe('dumps decoded into the Kernel port listing types', () => {
  const links = splitMessages(CAPTURED_LINK_DUMP).map(decodeLinkMessage);

  it("lists links with ip's flag words, including NO-CARRIER and M-DOWN for a veth whose peer is down", () => {
    expect(linkInfos(links)).toEqual([
      { name: 'lo', index: 1, mtu: 65536, up: true, flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mac: '00:00:00:00:00:00', group: 0 },
      { name: 'vb', index: 2, mtu: 1500, up: false, flags: ['BROADCAST', 'MULTICAST'], kind: 'veth', mac: '02:00:00:00:00:0b', group: 0 },
      { name: 'va', index: 3, mtu: 1400, up: true, flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP', 'M-DOWN'], kind: 'veth', mac: '02:00:00:00:00:0a', group: 0 },
    ]);
  });

  it('reads the state undo needs from a link message', () => {
    expect(linkStateOf(links[2] as ReturnType<typeof decodeLinkMessage>, undefined)).toEqual({ up: true, promisc: false, mtu: 1400, mac: '02:00:00:00:00:0a', master: null });
  });

  it('keeps only main-table unicast routes and prints the destination as ip does', () => {
    expect(routeInfos(splitMessages(CAPTURED_ROUTE_DUMP), links)).toEqual([{ dst: '10.9.0.0/24', family: 4, dev: 'va', scope: 'link', protocol: 'kernel' }]);
  });

  it('groups addresses by link in link order and leaves IPv6 link-local ones out', () => {
    const addr = (index: number, family: number, bytes: string, prefixlen: number, scope: number): Message => ({
      type: C.RTM_NEWADDR,
      flags: 2,
      seq: 1,
      pid: 0,
      body: encodeIfAddr({ family, prefixlen, scope, index }, [{ type: C.IFA_ADDRESS, payload: Buffer.from(bytes, 'hex') }]),
    });
    const dump = [addr(3, C.AF_INET6, 'fe80' + '00'.repeat(13) + '01', 64, C.RT_SCOPE_LINK), addr(3, C.AF_INET, '0a090001', 24, 0), addr(1, C.AF_INET, '7f000001', 8, C.RT_SCOPE_HOST)];
    expect(addrInfos(dump, links)).toEqual([
      { dev: 'lo', cidr: '127.0.0.1/8', family: 4, scope: 'host' },
      { dev: 'va', cidr: '10.9.0.1/24', family: 4, scope: 'global' },
    ]);
  });

  it('prints unknown flag bits in hex after the named ones', () => {
    expect(flagWords(C.IFF_UP | C.IFF_RUNNING | 0x80000000, false)).toEqual(['UP', '80000000']);
  });
});

describe('kernel refusals as failure reasons', () => {
  const step = (op: KernelStep['op']): KernelStep => ({ ns: HOST_NS, op });
  const add: KernelStep = step({ op: 'link.add', kind: 'dummy', name: 'd0' });

  it('tells an unknown link kind, an existing name, a missing device and a permission problem apart', () => {
    expect(classifyErrno(add, C.Errno.EOPNOTSUPP, 'Unknown device type')).toBe('unsupported');
    expect(classifyErrno(add, C.Errno.EEXIST)).toBe('exists');
    expect(classifyErrno(step({ op: 'link.set', name: 'x', up: true }), C.Errno.ENODEV)).toBe('link-missing');
    expect(classifyErrno(add, C.Errno.EPERM)).toBe('permission');
    expect(classifyErrno(step({ op: 'bridge.port', name: 'x', hairpin: true }), C.Errno.EOPNOTSUPP)).toBe('other');
  });

  it('counts a missing address or route as already gone only when deleting it', () => {
    expect(classifyErrno(step({ op: 'addr.del', dev: 'x', cidr: '10.0.0.1/24' }), C.Errno.EADDRNOTAVAIL)).toBe('entry-missing');
    expect(classifyErrno(step({ op: 'route.del', dst: '10.0.0.0/24' }), C.Errno.ESRCH)).toBe('entry-missing');
    expect(classifyErrno(step({ op: 'route.add', dst: 'default', via: '10.0.0.1' }), C.Errno.ENETUNREACH)).toBe('unreachable');
    expect(classifyErrno(step({ op: 'route.add', dst: 'default', via: '10.0.0.1' }), C.Errno.EINVAL, 'Nexthop has invalid gateway')).toBe('unreachable');
  });
});
