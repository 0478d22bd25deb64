import fc from 'fast-check';
import { FakeKernel } from '../../testing/fake-kernel.js';
import { HOST_NS, type KernelStep, type NetnsRef } from '../../spi/kernel.js';
import { IFNAMSIZ, assertIfName, assertMtu, assertNetnsName, assertNetnsPath, assertSysctlKey, assertSysctlValue, assertVlanId, normalizeMac, parseCidr, parseIpAddress, parseRouteDst } from '../names.js';
import { normalizeSteps } from '../normalize-step.js';
import { toBatchArgs, type CommandContext } from '../iproute2-commands.js';
import { encodeOp } from '../netlink/encode-op.js';
import { RUNS, attempt, attemptSync, check, checkRefused, checkSame, cidrText, exoticValue, hostileString, ifnameText, ipv4Text, ipv6Text, macText, numberValue, textFor } from '../../__tests__/hostile-input.js';

/**
 * The kernel edge: every name, address and number that reaches a kernel command passes these
 * validators, so they must accept only what the kernel and an `ip -batch` line take as one plain
 * token, and refuse everything else with a coded error. A plan FakeKernel refuses leaves no trace.
 */

// One batch token: printable ASCII, none of the characters the batch reader gives a meaning to.
const BATCH_TOKEN = /^[\x21-\x7e]+$/;
const BATCH_SPECIAL = /[#"'\\]/;
const ctx: CommandContext = { netnsDir: '/run/netns', hostNetnsPath: '/proc/1/ns/net' };

const anyInput = (domain: fc.Arbitrary<string>) => fc.oneof({ arbitrary: textFor(domain), weight: 9 }, { arbitrary: exoticValue, weight: 1 });

function checkSafeToken(token: string): void {
  check(BATCH_TOKEN.test(token) && !BATCH_SPECIAL.test(token), () => `${JSON.stringify(token)} to be one plain batch token`);
}

describe('names that reach the kernel', () => {
  it('an interface name is accepted only as 1-15 printable ASCII characters that make one batch token', () => {
    fc.assert(
      fc.property(anyInput(ifnameText), (name) => {
        const r = attemptSync(() => assertIfName(name));
        if (!r.ok) return checkRefused(r, 'SWY_ERR_INVALID_NAME');
        check(r.value === name, 'the name unchanged');
        check(r.value.length > 0 && Buffer.byteLength(r.value) < IFNAMSIZ, 'at most 15 bytes');
        checkSafeToken(r.value);
        check(!/^-|[/:]/.test(r.value) && r.value !== '.' && r.value !== '..', 'no option-like or path-like name');
      }),
      { numRuns: RUNS },
    );
  });

  it('a namespace name is accepted only as a plain file name under /run/netns', () => {
    fc.assert(
      fc.property(anyInput(fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,30}$/)), (name) => {
        const r = attemptSync(() => assertNetnsName(name));
        if (!r.ok) return checkRefused(r, 'SWY_ERR_INVALID_NAME');
        check(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/.test(r.value), 'a plain file name of at most 200 characters');
      }),
      { numRuns: RUNS },
    );
  });

  it('a namespace path (a container id stands in it, /proc/PID/ns/net) is accepted only as one absolute batch token', () => {
    const path = fc.oneof(
      fc.integer({ min: -5, max: 5_000_000 }).map((pid) => `/proc/${pid}/ns/net`),
      fc.stringMatching(/^[a-f0-9]{12,64}$/).map((id) => `/run/netns/${id}`),
      fc.constantFrom('/proc/self/ns/net', '/run/netns/../../etc/shadow', 'proc/1/ns/net', '/', '//', '/dev/null'),
    );
    fc.assert(
      fc.property(anyInput(path), (value) => {
        const r = attemptSync(() => assertNetnsPath(value));
        if (!r.ok) return checkRefused(r, 'SWY_ERR_INVALID_NAME');
        check(r.value.startsWith('/') && r.value.length <= 4096, 'an absolute path of at most 4096 characters');
        checkSafeToken(r.value);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('values that reach the kernel', () => {
  it('a MAC address is accepted only as a unicast, non-zero address, returned in lower case', () => {
    fc.assert(
      fc.property(anyInput(macText), (mac) => {
        const r = attemptSync(() => normalizeMac(mac));
        if (!r.ok) return checkRefused(r, 'SWY_ERR_INVALID_MAC');
        check(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(r.value), 'six lower-case hex pairs');
        check((parseInt(r.value.slice(0, 2), 16) & 1) === 0 && r.value !== '00:00:00:00:00:00', 'a unicast, non-zero address');
        check(r.value === String(mac).toLowerCase(), 'the same address');
      }),
      { numRuns: RUNS },
    );
  });

  it('a CIDR is accepted only in canonical form, with a prefix that fits its family, and parses again to itself', () => {
    fc.assert(
      fc.property(anyInput(cidrText), (cidr) => {
        const r = attemptSync(() => parseCidr(cidr));
        if (!r.ok) return checkRefused(r, 'SWY_ERR_INVALID_CIDR');
        const p = r.value;
        check(p.prefix <= (p.family === 4 ? 32 : 128) && p.cidr === `${p.address}/${p.prefix}`, 'address/prefix with a prefix that fits the family');
        checkSafeToken(p.cidr);
        checkSame(parseCidr(p.cidr), p);
        // The network address is the address with the host bits cleared: a valid route destination.
        check(parseRouteDst(`${p.network}/${p.prefix}`).dst === `${p.network}/${p.prefix}`, 'the network to be a route destination');
        check(attemptSync(() => parseRouteDst(cidr)).ok === (p.network === p.address), 'a route destination only without host bits');
      }),
      { numRuns: RUNS },
    );
  });

  it('an IP address (no zone id, no prefix) is accepted only in canonical form that parses again to itself', () => {
    fc.assert(
      fc.property(anyInput(fc.oneof(ipv4Text, ipv6Text)), (addr) => {
        const r = attemptSync(() => parseIpAddress(addr));
        if (!r.ok) return checkRefused(r, 'SWY_ERR_INVALID_CIDR');
        check(/^[0-9a-f:.]+$/.test(r.value.address) && r.value.family === (r.value.address.includes(':') ? 6 : 4), 'a plain address of its family');
        checkSame(parseIpAddress(r.value.address), r.value);
      }),
      { numRuns: RUNS },
    );
  });

  it('MTUs and VLAN ids are accepted only as integers in their ranges', () => {
    const value = fc.oneof(numberValue, exoticValue, hostileString);
    fc.assert(
      fc.property(value, value, (mtu, vlan) => {
        const m = attemptSync(() => assertMtu(mtu));
        if (m.ok) check(Number.isInteger(m.value) && m.value >= 68 && m.value <= 65535, 'an MTU of 68-65535');
        else checkRefused(m, 'SWY_ERR_INVALID_OPTION');
        const v = attemptSync(() => assertVlanId(vlan));
        if (v.ok) check(Number.isInteger(v.value) && v.value >= 1 && v.value <= 4094, 'a VLAN id of 1-4094');
        else checkRefused(v, 'SWY_ERR_INVALID_OPTION');
      }),
      { numRuns: RUNS },
    );
  });

  it('a sysctl key and value are accepted only as a dotted path below /proc/sys and one line of text', () => {
    const key = fc.oneof(fc.constantFrom('net.ipv4.ip_forward', 'net.ipv6.conf.all.disable_ipv6', 'net.ipv4.conf.eth0.rp_filter'), fc.stringMatching(/^[a-z]+(\.[a-z0-9_-]+){1,4}$/));
    fc.assert(
      fc.property(anyInput(key), anyInput(fc.constantFrom('0', '1', '2', '1\t2')), (k, v) => {
        const rk = attemptSync(() => assertSysctlKey(k));
        if (rk.ok) check(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(rk.value), 'a dotted key');
        else checkRefused(rk, 'SWY_ERR_INVALID_OPTION');
        const rv = attemptSync(() => assertSysctlValue(v));
        if (rv.ok) check(!/[\n\r\0]/.test(rv.value), 'one line');
        else checkRefused(rv, 'SWY_ERR_INVALID_OPTION');
      }),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------ whole plans

const sb: NetnsRef = { kind: 'named', name: 'sb' };
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
const flag = fc.oneof({ arbitrary: fc.boolean(), weight: 9 }, { arbitrary: exoticValue, weight: 1 });

/** Link names: mostly ones the base state has (so plans get past validation), sometimes hostile. */
const linkName = fc.oneof({ arbitrary: fc.constantFrom('br0', 'br1', 'eth0', 'vh0', 'vh1', 'x0', 'lo'), weight: 3 }, { arbitrary: textFor(ifnameText), weight: 1 });
const nsArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom<NetnsRef>(HOST_NS, sb, { kind: 'path', path: '/run/netns/adopted' }), weight: 6 },
  { arbitrary: textFor(fc.constant('sb')).map((name) => ({ kind: 'named', name })), weight: 1 },
  { arbitrary: textFor(fc.constant('/proc/42/ns/net')).map((path) => ({ kind: 'path', path })), weight: 1 },
  { arbitrary: exoticValue, weight: 1 },
);
const mtuArb = fc.oneof(fc.constantFrom(1500, 1400, 9000), numberValue);
const cidrArb = fc.oneof(fc.constantFrom('10.1.0.9/24', '10.2.0.1/24', 'fd00:1::9/64', '10.1.0.1/24'), cidrText);
const addrArb = fc.oneof(fc.constantFrom('10.1.0.1', '192.168.1.1', 'fd00:1::1'), ipv4Text, ipv6Text);

// Rollback plans use valid values mostly, so that they reach the kernel and fail there (names taken, devices missing).
const knownName = fc.constantFrom('br0', 'br1', 'eth0', 'vh0', 'vh1', 'x0', 'x1', 'lo');
const knownNs = fc.constantFrom<NetnsRef>(HOST_NS, sb, { kind: 'path', path: '/run/netns/adopted' });
const knownMac = fc.constantFrom('02:00:00:00:00:0a', '02:00:00:00:00:0b', '03:00:00:00:00:0c');
const knownCidr = fc.constantFrom('10.1.0.9/24', '10.2.0.1/24', 'fd00:1::9/64', '10.1.0.1/24', '10.3.0.0/16');

function linkAdd(creationOnly: boolean): fc.Arbitrary<unknown> {
  const name = creationOnly ? knownName : linkName;
  const ns = creationOnly ? knownNs : nsArb;
  const mac = creationOnly ? knownMac : macText;
  return fc.record(
    {
      op: fc.constant('link.add'),
      kind: fc.oneof({ arbitrary: fc.constantFrom('veth', 'bridge', 'macvlan', 'ipvlan', 'vlan', 'dummy', 'vxlan'), weight: 9 }, { arbitrary: hostileString, weight: 1 }),
      name,
      mtu: creationOnly ? fc.constant(undefined) : maybe(mtuArb),
      mac: maybe(mac),
      netns: maybe(ns),
      group: maybe(creationOnly ? fc.nat(10) : numberValue),
      peer: fc.record({ name, netns: maybe(ns), mtu: creationOnly ? fc.constant(undefined) : maybe(mtuArb), mac: maybe(mac) }, { requiredKeys: ['name'] }),
      parent: name,
      mode: fc.oneof(fc.constantFrom('bridge', 'private', 'vepa', 'passthru', 'l2', 'l3', 'l3s'), hostileString),
      flag: fc.oneof(fc.constantFrom('bridge', 'private', 'vepa'), hostileString),
      vlanId: creationOnly ? fc.integer({ min: 1, max: 4094 }) : numberValue,
      vni: creationOnly ? fc.integer({ min: 1, max: 4 }) : numberValue,
      port: maybe(creationOnly ? fc.constantFrom(4789, 8472) : numberValue),
      local: maybe(creationOnly ? fc.constantFrom('10.1.0.1', 'fd00:1::1') : addrArb),
      learning: maybe(creationOnly ? fc.boolean() : flag),
      proxy: maybe(creationOnly ? fc.boolean() : flag),
    },
    { requiredKeys: ['op', 'kind', 'name'] },
  );
}

/** Operations whose rollback restores the state exactly (no deletes, moves, downs or MTU changes). */
const creationOp: fc.Arbitrary<unknown> = fc.oneof(
  linkAdd(true),
  fc.record({ op: fc.constant('link.set'), name: knownName, up: fc.constant(true), promisc: maybe(fc.boolean()), mac: maybe(knownMac), master: maybe(knownName) }, { requiredKeys: ['op', 'name'] }),
  fc.record({ op: fc.constant('bridge.port'), name: knownName, hairpin: maybe(fc.boolean()), isolated: maybe(fc.boolean()), learning: maybe(fc.boolean()) }, { requiredKeys: ['op', 'name'] }),
  fc.record({ op: fc.constant('addr.add'), dev: knownName, cidr: knownCidr, nodad: maybe(fc.boolean()), noprefixroute: maybe(fc.boolean()) }, { requiredKeys: ['op', 'dev', 'cidr'] }),
  fc.record(
    {
      op: fc.constant('route.add'),
      dst: fc.constantFrom('default', '10.9.0.0/16', 'fd00:9::/64'),
      via: maybe(fc.constantFrom('10.1.0.1', '10.1.0.7', '192.168.1.1', 'fd00:1::1')),
      dev: maybe(knownName),
      metric: maybe(fc.nat(3)),
      onlink: maybe(fc.boolean()),
      family: maybe(fc.constantFrom(4, 6)),
    },
    { requiredKeys: ['op', 'dst'] },
  ),
  fc.record({ op: fc.constant('sysctl.set'), key: fc.constantFrom('net.ipv4.ip_forward', 'net.ipv4.conf.br0.forwarding'), value: fc.constantFrom('0', '1') }),
);

/** Any operation, with hostile values in every field. */
const anyOp: fc.Arbitrary<unknown> = fc.oneof(
  linkAdd(false),
  fc.record({ op: fc.constant('link.del'), name: linkName, ifExists: maybe(flag) }, { requiredKeys: ['op', 'name'] }),
  fc.record(
    {
      op: fc.constant('link.set'),
      name: linkName,
      up: maybe(flag),
      mtu: maybe(mtuArb),
      mac: maybe(macText),
      master: maybe(fc.oneof(fc.constant(null), linkName)),
      netns: maybe(nsArb),
      newName: maybe(linkName),
      promisc: maybe(flag),
    },
    { requiredKeys: ['op', 'name'] },
  ),
  fc.record({ op: fc.constant('bridge.port'), name: linkName, hairpin: maybe(flag), isolated: maybe(flag), learning: maybe(flag) }, { requiredKeys: ['op', 'name'] }),
  fc.record({ op: fc.constantFrom('addr.add', 'addr.del'), dev: linkName, cidr: cidrArb, nodad: maybe(flag), noprefixroute: maybe(flag), ifExists: maybe(flag) }, { requiredKeys: ['op', 'dev', 'cidr'] }),
  fc.record(
    {
      op: fc.constantFrom('route.add', 'route.del'),
      dst: fc.oneof(fc.constant('default'), cidrArb, hostileString),
      via: maybe(addrArb),
      dev: maybe(linkName),
      scope: maybe(fc.oneof(fc.constantFrom('link', 'host', 'global'), hostileString)),
      src: maybe(addrArb),
      metric: maybe(numberValue),
      mtu: maybe(mtuArb),
      onlink: maybe(flag),
      family: maybe(fc.oneof(fc.constantFrom(4, 6), numberValue)),
    },
    { requiredKeys: ['op', 'dst'] },
  ),
  fc.record({ op: fc.constant('sysctl.set'), key: anyInput(fc.constantFrom('net.ipv4.ip_forward', 'net.ipv4.conf.br0.forwarding')), value: anyInput(fc.constantFrom('0', '1')) }),
  exoticValue,
);

const step = (op: fc.Arbitrary<unknown>) => fc.record({ ns: fc.oneof({ arbitrary: fc.constantFrom<NetnsRef>(HOST_NS, sb), weight: 9 }, { arbitrary: nsArb, weight: 1 }), op });

/** Host: eth0 (a NIC with an address and the default route), bridge br0 with 10.1.0.1/24; sandbox sb with its end of vh0. */
async function baseKernel(): Promise<FakeKernel> {
  const k = new FakeKernel();
  k.addDevice('eth0', { up: true, mac: '02:00:00:00:00:01' });
  await k.createNetns('sb');
  k.addPathNetns('/run/netns/adopted');
  await k.apply([
    { ns: HOST_NS, op: { op: 'addr.add', dev: 'eth0', cidr: '192.168.1.10/24' } },
    { ns: HOST_NS, op: { op: 'route.add', dst: 'default', via: '192.168.1.1', dev: 'eth0' } },
    { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: 'br0' } },
    { ns: HOST_NS, op: { op: 'link.set', name: 'br0', up: true } },
    { ns: HOST_NS, op: { op: 'addr.add', dev: 'br0', cidr: '10.1.0.1/24' } },
    { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: 'vh0', peer: { name: 'eth0', netns: sb } } },
    { ns: HOST_NS, op: { op: 'link.set', name: 'vh0', master: 'br0', up: true } },
  ]);
  return k;
}

/** The snapshot, with sysctls at "0" left out: the model reads a sysctl it never set as "0", and an undo writes that back. */
function comparable(k: FakeKernel): Record<string, unknown> {
  return JSON.parse(JSON.stringify(k.snapshot(), (key, value: unknown) => (key === 'sysctls' ? Object.fromEntries(Object.entries(value as Record<string, string>).filter(([, v]) => v !== '0')) : value))) as Record<string, unknown>;
}

function resolvedAll(): Parameters<typeof encodeOp>[1] {
  return { index: 2, parentIndex: 3, masterIndex: 4, devIndex: 5, netnsFd: 6, peerNetnsFd: 7 };
}

describe('kernel plans', () => {
  it('a plan is either refused whole with a coded error, or every step becomes safe batch tokens and a netlink request', () => {
    fc.assert(
      fc.property(fc.array(step(anyOp), { minLength: 1, maxLength: 4 }), (plan) => {
        const r = attemptSync(() => normalizeSteps(plan as KernelStep[]));
        if (!r.ok) return;
        for (const s of r.value) {
          if (s.op.op === 'sysctl.set') continue;
          for (const token of toBatchArgs(s.op, ctx)) checkSafeToken(token);
          encodeOp(s.op, resolvedAll());
        }
        // Canonical steps are a fixed point: normalising again changes nothing.
        checkSame(normalizeSteps(r.value), r.value);
      }),
      { numRuns: RUNS },
    );
  });

  it('FakeKernel refuses a plan the validators refuse before it changes anything', async () => {
    // Refused plans change nothing, so one kernel serves every case; valid plans are the next test's.
    const k = await baseKernel();
    const before = { state: k.snapshot(), history: k.history.length };
    await fc.assert(
      fc.asyncProperty(fc.array(step(anyOp), { minLength: 1, maxLength: 4 }), async (plan) => {
        const valid = attemptSync(() => normalizeSteps(plan as KernelStep[]));
        if (valid.ok) return;
        const r = await attempt(() => k.apply(plan as KernelStep[]));
        checkRefused(r, valid.error.code);
        checkSame({ state: k.snapshot(), history: k.history.length }, before);
      }),
      { numRuns: RUNS },
    );
  });

  it('a plan of creations either applies whole and reverts to exactly the state before, or fails with a coded error and changes nothing', async () => {
    const k = await baseKernel();
    let applied = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step(creationOp), { minLength: 1, maxLength: 3 }), async (plan) => {
        const before = comparable(k);
        const r = await attempt(() => k.apply(plan as KernelStep[]));
        if (r.ok) {
          check(r.value.steps.length === plan.length, 'every step applied');
          applied++;
          await k.revert(r.value);
        }
        checkSame(comparable(k), before);
      }),
      { numRuns: RUNS },
    );
    // The generator must reach the kernel, not only the validators.
    expect(applied).toBeGreaterThan(RUNS / 20);
  });
});
