import { HOST_NS, type KernelOp, type KernelStep, type NetnsRef } from '../../spi/kernel.js';
import { ipIn, toBatchArgs, toBatchLine, type CommandContext } from '../iproute2-commands.js';
import { readBatchOutcome } from '../ip-batch.js';
import { normalizeOp } from '../normalize-step.js';
import { undoOf, undoPlan } from '../undo.js';
import { classifyIpMessage, kernelStepError } from '../kernel-errors.js';

const ctx: CommandContext = { netnsDir: '/run/netns', hostNetnsPath: '/proc/4242/ns/net' };
const sb: NetnsRef = { kind: 'named', name: 'sb1' };
const byPath: NetnsRef = { kind: 'path', path: '/proc/99/ns/net' };
const line = (op: KernelOp): string => toBatchLine(normalizeOp(op) as Exclude<KernelOp, { op: 'sysctl.set' }>, ctx);

describe('translating operations into ip batch lines', () => {
  it('creates a veth pair whose peer goes straight into a named namespace, by its path', () => {
    expect(line({ op: 'link.add', kind: 'veth', name: 'vh0', mtu: 1450, peer: { name: 'eth0', netns: sb, mtu: 1450 } })).toBe('link add name vh0 mtu 1450 type veth peer name eth0 mtu 1450 netns /run/netns/sb1');
  });

  it('refers to the host namespace by /proc/<pid>/ns/net and to path namespaces by their path', () => {
    expect(line({ op: 'link.set', name: 'eth0', netns: HOST_NS, newName: 'vh0' })).toBe('link set dev eth0 netns /proc/4242/ns/net name vh0');
    expect(line({ op: 'link.add', kind: 'bridge', name: 'br0', netns: byPath, group: 7, mac: '02:00:00:00:00:01' })).toBe('link add name br0 address 02:00:00:00:00:01 group 7 netns /proc/99/ns/net type bridge');
  });

  it('puts the parent of macvlan, ipvlan and vlan links before the type', () => {
    expect(line({ op: 'link.add', kind: 'macvlan', name: 'mv0', parent: 'eth1', mode: 'bridge' })).toBe('link add name mv0 link eth1 type macvlan mode bridge');
    expect(line({ op: 'link.add', kind: 'ipvlan', name: 'ip0', parent: 'eth1', mode: 'l3', flag: 'private' })).toBe('link add name ip0 link eth1 type ipvlan mode l3 private');
    expect(line({ op: 'link.add', kind: 'vlan', name: 'eth1.5', parent: 'eth1', vlanId: 5 })).toBe('link add name eth1.5 link eth1 type vlan id 5');
  });

  it('creates a vxlan link with id, dstport, local, learning and proxy, filling in port 4789, nolearning and proxy', () => {
    expect(line({ op: 'link.add', kind: 'vxlan', name: 'vx-1000', vni: 4096 })).toBe('link add name vx-1000 type vxlan id 4096 dstport 4789 nolearning proxy');
    expect(line({ op: 'link.add', kind: 'vxlan', name: 'vx0', vni: 16777215, port: 8472, local: '10.0.0.5', learning: true, proxy: false, mtu: 1450, group: 3 })).toBe(
      'link add name vx0 mtu 1450 group 3 type vxlan id 16777215 dstport 8472 local 10.0.0.5 learning',
    );
    expect(line({ op: 'link.add', kind: 'vxlan', name: 'vx6', vni: 7, local: 'FD00:0:0::5' })).toBe('link add name vx6 type vxlan id 7 dstport 4789 local fd00::5 nolearning proxy');
  });

  it('refuses a vxlan link with a VNI or port out of range, a local that is no address, or flags that are no booleans', () => {
    const bad = [{ vni: 0 }, { vni: 16777216 }, { vni: 1.5 }, { vni: '5' }, { vni: 5, port: 0 }, { vni: 5, port: 65536 }, { vni: 5, local: '10.0.0.5/24' }, { vni: 5, learning: 'no' }, { vni: 5, proxy: 1 }];
    for (const fields of bad) {
      expect(() => normalizeOp({ op: 'link.add', kind: 'vxlan', name: 'vx0', ...fields } as unknown as KernelOp)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^SWY_ERR_INVALID_(OPTION|CIDR)$/) }));
    }
    expect(normalizeOp({ op: 'link.add', kind: 'vxlan', name: 'vx0', vni: 5 })).toEqual({ op: 'link.add', kind: 'vxlan', name: 'vx0', vni: 5, port: 4789, learning: false, proxy: true });
  });

  it('reads a VNI clash as an existing link: the same code from ip as from the netlink errno', () => {
    const step: KernelStep = { ns: HOST_NS, op: { op: 'link.add', kind: 'vxlan', name: 'vx0', vni: 5 } };
    expect(classifyIpMessage(step, 'Error: A VXLAN device with the specified VNI already exists.')).toBe('exists');
    expect(kernelStepError(step, 'exists', 'Error: A VXLAN device with the specified VNI already exists.')).toMatchObject({ code: 'SWY_ERR_LINK_EXISTS', message: expect.stringContaining('VNI 5, UDP port 4789') });
  });

  it('uses explicit keywords, so links named like ip keywords stay names', () => {
    expect(toBatchArgs({ op: 'link.set', name: 'up', up: true }, ctx)).toEqual(['link', 'set', 'dev', 'up', 'up']);
    expect(toBatchArgs({ op: 'link.del', name: 'type' }, ctx)).toEqual(['link', 'del', 'dev', 'type']);
  });

  it('translates every link attribute, bridge release and port flags', () => {
    expect(line({ op: 'link.set', name: 'v0', mtu: 9000, mac: '02:00:00:00:00:02', master: 'br0', promisc: true, up: true })).toBe('link set dev v0 mtu 9000 address 02:00:00:00:00:02 master br0 promisc on up');
    expect(line({ op: 'link.set', name: 'v0', master: null, up: false })).toBe('link set dev v0 nomaster down');
    expect(line({ op: 'link.set', name: 'v0', newName: 'swyr0', group: 21335 })).toBe('link set dev v0 name swyr0 group 21335');
    expect(line({ op: 'group.del', group: 21335 })).toBe('link del group 21335');
    expect(line({ op: 'bridge.port', name: 'v0', hairpin: true, isolated: false, learning: false })).toBe('link set dev v0 type bridge_slave hairpin on isolated off learning off');
  });

  it('adds nodad only to IPv6 addresses', () => {
    expect(line({ op: 'addr.add', dev: 'eth0', cidr: '10.1.0.2/24', nodad: true, noprefixroute: true })).toBe('addr add 10.1.0.2/24 dev eth0 noprefixroute');
    expect(line({ op: 'addr.add', dev: 'eth0', cidr: 'fd00::2/64', nodad: true })).toBe('addr add fd00::2/64 dev eth0 nodad');
    expect(line({ op: 'addr.del', dev: 'eth0', cidr: 'fd00::2/64' })).toBe('addr del fd00::2/64 dev eth0');
  });

  it('translates routes, spelling an IPv6 default route without gateway as ::/0', () => {
    expect(line({ op: 'route.add', dst: 'default', via: '10.1.0.1', dev: 'eth0', metric: 100, src: '10.1.0.2', mtu: 1400 })).toBe('route add default via 10.1.0.1 dev eth0 src 10.1.0.2 metric 100 mtu 1400');
    expect(line({ op: 'route.add', dst: 'default', dev: 'eth0', family: 6 })).toBe('route add ::/0 dev eth0');
    expect(line({ op: 'route.add', dst: '10.9.0.0/16', via: '10.1.0.1', dev: 'eth0', onlink: true, scope: 'global' })).toBe('route add 10.9.0.0/16 via 10.1.0.1 dev eth0 scope global onlink');
    expect(line({ op: 'route.del', dst: 'default', via: 'fd00::1' })).toBe('route del default via fd00::1');
  });

  it('runs ip with -n for named namespaces and through nsenter for paths', () => {
    const tools = { ip: 'ip', nsenter: 'nsenter' };
    expect(ipIn(HOST_NS, ['-batch', '-'], tools)).toEqual({ file: 'ip', args: ['-batch', '-'] });
    expect(ipIn(sb, ['-batch', '-'], tools)).toEqual({ file: 'ip', args: ['-n', 'sb1', '-batch', '-'] });
    expect(ipIn(byPath, ['-batch', '-'], tools)).toEqual({ file: 'nsenter', args: ['--net=/proc/99/ns/net', 'ip', '-batch', '-'] });
  });
});

describe('the undo of each operation', () => {
  const step = (ns: NetnsRef, op: KernelOp): KernelStep => ({ ns, op: normalizeOp(op) });

  it('deletes a created link where it was created, which also removes its veth peer', () => {
    expect(undoOf(step(HOST_NS, { op: 'link.add', kind: 'veth', name: 'vh0', peer: { name: 'eth0', netns: sb } }))).toEqual([{ ns: HOST_NS, op: { op: 'link.del', name: 'vh0' } }]);
    expect(undoOf(step(HOST_NS, { op: 'link.add', kind: 'bridge', name: 'br0', netns: sb }))).toEqual([{ ns: sb, op: { op: 'link.del', name: 'br0' } }]);
  });

  it('moves a moved and renamed link back from its new namespace, and brings it up again if it was up', () => {
    const moved = step(HOST_NS, { op: 'link.set', name: 'tmp0', netns: sb, newName: 'eth0', up: true });
    expect(undoOf(moved)).toEqual([{ ns: sb, op: { op: 'link.set', name: 'eth0', netns: HOST_NS, newName: 'tmp0' } }]);
    expect(undoOf({ ...moved, before: { up: true, promisc: false, mtu: 1500, master: null } })).toEqual([
      { ns: sb, op: { op: 'link.set', name: 'eth0', netns: HOST_NS, newName: 'tmp0' } },
      { ns: HOST_NS, op: { op: 'link.set', name: 'tmp0', up: true } },
    ]);
  });

  it('restores the recorded attributes that changed and nothing else', () => {
    const before = { up: true, promisc: false, mtu: 1500, mac: '02:00:00:00:00:01', master: 'br1' };
    expect(undoOf({ ...step(sb, { op: 'link.set', name: 'lo', up: true }), before })).toEqual([]);
    expect(undoOf({ ...step(sb, { op: 'link.set', name: 'v0', up: false, mtu: 9000, mac: '02:00:00:00:00:09', master: 'br0' }), before })).toEqual([
      { ns: sb, op: { op: 'link.set', name: 'v0', up: true, mtu: 1500, mac: '02:00:00:00:00:01', master: 'br1' } },
    ]);
    expect(undoOf({ ...step(sb, { op: 'bridge.port', name: 'v0', hairpin: true, learning: true }), before: { ...before, port: { hairpin: false, isolated: false, learning: true } } })).toEqual([
      { ns: sb, op: { op: 'bridge.port', name: 'v0', hairpin: false } },
    ]);
  });

  it('without a recorded state, flips booleans back, releases an enslaved link, and leaves MTU and MAC alone', () => {
    expect(undoOf(step(sb, { op: 'link.set', name: 'v0', up: true, promisc: false, master: 'br0', mtu: 1400, mac: '02:00:00:00:00:09' }))).toEqual([
      { ns: sb, op: { op: 'link.set', name: 'v0', up: false, promisc: true, master: null } },
    ]);
    expect(undoOf(step(sb, { op: 'link.set', name: 'v0', mtu: 1400 }))).toEqual([]);
    expect(undoOf(step(sb, { op: 'bridge.port', name: 'v0', hairpin: true, learning: false }))).toEqual([{ ns: sb, op: { op: 'bridge.port', name: 'v0', hairpin: false, learning: true } }]);
  });

  it('pairs address and route additions with deletions and back', () => {
    expect(undoOf(step(sb, { op: 'addr.add', dev: 'eth0', cidr: 'fd00::2/64', nodad: true }))).toEqual([{ ns: sb, op: { op: 'addr.del', dev: 'eth0', cidr: 'fd00::2/64' } }]);
    expect(undoOf(step(sb, { op: 'addr.del', dev: 'eth0', cidr: '10.0.0.2/24' }))).toEqual([{ ns: sb, op: { op: 'addr.add', dev: 'eth0', cidr: '10.0.0.2/24' } }]);
    expect(undoOf(step(sb, { op: 'route.add', dst: 'default', via: '10.0.0.1', dev: 'eth0', metric: 5, src: '10.0.0.2', onlink: true }))).toEqual([
      { ns: sb, op: { op: 'route.del', dst: 'default', via: '10.0.0.1', dev: 'eth0', metric: 5, family: 4 } },
    ]);
    expect(undoOf(step(sb, { op: 'route.del', dst: '10.5.0.0/16', dev: 'eth0' }))).toEqual([{ ns: sb, op: { op: 'route.add', dst: '10.5.0.0/16', dev: 'eth0', family: 4 } }]);
  });

  it("undoes an IPv6 route added without a metric by deleting the one with the kernel's default metric 1024, not a lower-metric route to the same place", () => {
    expect(undoOf(step(sb, { op: 'route.add', dst: 'fd00:9::/64', dev: 'lo' }))).toEqual([{ ns: sb, op: { op: 'route.del', dst: 'fd00:9::/64', dev: 'lo', metric: 1024, family: 6 } }]);
    expect(undoOf(step(sb, { op: 'route.add', dst: '10.9.0.0/16', dev: 'lo' }))).toEqual([{ ns: sb, op: { op: 'route.del', dst: '10.9.0.0/16', dev: 'lo', family: 4 } }]);
  });

  it('restores the previous value of a sysctl, and has nothing to restore when it is unknown', () => {
    const s = step(sb, { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' });
    expect(undoOf({ ...s, previous: '0' })).toEqual([{ ns: sb, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '0' } }]);
    expect(undoOf(s)).toEqual([]);
  });

  it('cannot recreate a deleted link', () => {
    expect(undoOf(step(sb, { op: 'link.del', name: 'v0' }))).toEqual([]);
  });

  it('undoes a plan last step first', () => {
    const plan = [step(HOST_NS, { op: 'link.add', kind: 'veth', name: 'vh0', peer: { name: 'eth0', netns: sb } }), step(sb, { op: 'link.set', name: 'eth0', up: true })];
    expect(undoPlan({ steps: plan }).map((s) => (s.op.op === 'link.set' || s.op.op === 'link.del' ? `${s.op.op} ${s.op.name}` : s.op.op))).toEqual(['link.set eth0', 'link.del vh0']);
  });
});

describe('reading what a batch did from ip', () => {
  const lines = [
    ['link', 'add', 'name', 'a'],
    ['link', 'set', 'dev', 'a', 'master', 'nobr'],
    ['link', 'set', 'dev', 'a', 'up'],
  ];

  it('finds the failing line from "Command failed -:N" and keeps its message', () => {
    expect(readBatchOutcome(lines, { exitCode: 1, stdout: '', stderr: 'RTNETLINK answers: File exists\nCommand failed -:2\n' })).toEqual({
      failures: [{ index: 1, message: 'RTNETLINK answers: File exists' }],
    });
  });

  it('collects every failure of a -force batch', () => {
    const outcome = readBatchOutcome(lines, { exitCode: 1, stdout: '', stderr: 'Cannot find device "a"\nCommand failed -:1\nCannot find device "a"\nCommand failed -:3\n' });
    expect(outcome.failures.map((f) => f.index)).toEqual([0, 2]);
    expect(outcome.abortedAt).toBeUndefined();
  });

  it('locates an argument error that ip reports without a line by the first line naming the value', () => {
    const outcome = readBatchOutcome(lines, { exitCode: 255, stdout: '', stderr: 'Error: argument "nobr" is wrong: Device does not exist\n\n' });
    expect(outcome).toEqual({ failures: [{ index: 1, message: 'Error: argument "nobr" is wrong: Device does not exist' }], abortedAt: 2 });
  });

  it('prefers the line that uses the rejected value as a master or namespace over one that merely names it', () => {
    const withEarlierName = [
      ['link', 'add', 'name', 'br0', 'type', 'bridge'],
      ['link', 'del', 'dev', 'br0'],
      ['link', 'set', 'dev', 'v0', 'master', 'br0'],
    ];
    const outcome = readBatchOutcome(withEarlierName, { exitCode: 255, stdout: '', stderr: 'Error: argument "br0" is wrong: Device does not exist\n' });
    expect(outcome.failures[0]?.index).toBe(2);
  });

  it('assumes nothing ran when ip could not even enter the namespace', () => {
    const outcome = readBatchOutcome(lines, { exitCode: 255, stdout: '', stderr: 'Cannot open network namespace "x": No such file or directory\n' });
    expect(outcome.failures[0]?.index).toBe(0);
  });

  it('reports success as no failures', () => {
    expect(readBatchOutcome(lines, { exitCode: 0, stdout: '', stderr: '' })).toEqual({ failures: [] });
  });
});

describe('turning ip messages into coded errors', () => {
  const add: KernelStep = { ns: sb, op: { op: 'link.add', kind: 'ipvlan', name: 'ip0', parent: 'eth0', mode: 'l2', flag: 'bridge' } };
  const set: KernelStep = { ns: sb, op: { op: 'link.set', name: 'eth0', up: true } };

  it.each([
    [add, 'RTNETLINK answers: File exists', 'SWY_ERR_LINK_EXISTS'],
    [add, 'Error: Unknown device type.', 'SWY_ERR_KERNEL_FEATURE_MISSING'],
    [add, 'RTNETLINK answers: Operation not supported', 'SWY_ERR_KERNEL_FEATURE_MISSING'],
    [set, 'Cannot find device "eth0"', 'SWY_ERR_LINK_NOT_FOUND'],
    [set, 'Cannot open network namespace "sb1": No such file or directory', 'SWY_ERR_NETNS_NOT_FOUND'],
    [set, 'Error: argument "/run/netns/x" is wrong: Invalid "netns" value', 'SWY_ERR_NETNS_NOT_FOUND'],
    [set, 'RTNETLINK answers: Operation not permitted', 'SWY_ERR_PERMISSION_DENIED'],
    [set, 'RTNETLINK answers: Operation not supported', 'SWY_ERR_KERNEL_OP_FAILED'],
    [set, 'Error: mtu less than device minimum.', 'SWY_ERR_KERNEL_OP_FAILED'],
  ])('maps %#: %s to %s', (step, message, code) => {
    expect(kernelStepError(step, classifyIpMessage(step, message), message).code).toBe(code);
  });

  it('names the operation in words, quotes the kernel, and names the link kind a kernel lacks', () => {
    const e = kernelStepError(add, 'unsupported', 'Error: Unknown device type.');
    expect(e.message).toBe('Could not create ipvlan link "ip0" on "eth0" (mode l2) in namespace "sb1": Error: Unknown device type.');
    expect(e.hint).toContain('ipvlan');
  });

  it('points at root or CAP_NET_ADMIN, and unshare -rn, when permission is missing', () => {
    expect(kernelStepError(set, 'permission', 'Operation not permitted').hint).toMatch(/CAP_NET_ADMIN.*unshare -rn/);
  });
});
