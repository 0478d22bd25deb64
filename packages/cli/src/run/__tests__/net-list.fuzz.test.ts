import fc from 'fast-check';
import { parseIpAddress } from '@switchyard/core';
import { normalizePortBindings, resolveNamedPorts } from '../../../../core/src/firewall/port-bindings.js';
import { parseNetList } from '../net-list.js';
import { parsePortFlags } from '../../port-spec.js';
import { RUNS, attemptSync, check, checkRefused, checkSame, hostileString, ipv4Text, ipv6Text, numberText, objectNameText, textFor } from '../../../../core/src/__tests__/hostile-input.js';

/**
 * The CLI's own syntaxes, hostile: `-p/--port` in Docker's form ([HOST_IP:][HOST_PORT:]PORT[/proto],
 * ranges, IPv6 in brackets, with --allow-from) and `--net name[:IP=addr],…`. What the CLI accepts is
 * well-formed (the bindings pass core's port-binding check unchanged); everything else is a coded usage error.
 */

const port = fc.oneof(fc.integer({ min: 1, max: 65535 }).map(String), fc.constantFrom('0', '65536', '080', '1e3', 'http', ''), numberText);
const protocol = fc.oneof(
  fc.constantFrom('', '/tcp', '/udp', '/sctp', '/icmp', '/TCP', '/'),
  hostileString.map((p) => `/${p}`),
);
const range = fc.oneof({ arbitrary: port, weight: 4 }, { arbitrary: fc.tuple(port, port).map(([a, b]) => `${a}-${b}`), weight: 1 });
const hostAddress = fc.oneof(
  fc.constantFrom('', '127.0.0.1:', '[::1]:', '::1:', '[10.0.0.1]:', '0.0.0.0:', '[]:'),
  ipv4Text.map((a) => `${a}:`),
  ipv6Text.map((a) => `[${a}]:`),
);
const portSpec = textFor(
  fc.oneof(
    fc.tuple(hostAddress, range, range, protocol).map(([a, h, c, p]) => `${a}${h}:${c}${p}`),
    fc.tuple(range, protocol).map(([c, p]) => `${c}${p}`),
    fc.tuple(hostAddress, range, protocol).map(([a, c, p]) => `${a}:${c}${p}`),
    // rkt's named form: NAME[:[HOST_IP:]HOST_PORT].
    fc.tuple(fc.constantFrom('http', 'dns-1', 'x-', 'Http'), fc.option(fc.tuple(hostAddress, port), { nil: undefined }), protocol).map(([n, at, p]) => `${n}${at ? `:${at[0]}${at[1]}` : ''}${p}`),
  ),
  4,
);
const allowFrom = fc.option(fc.oneof(fc.constantFrom('10.0.0.0/8', '192.168.1.7/24', 'fd00::/8', '0.0.0.0/0', '10.0.0.1', '/8'), hostileString), { nil: undefined });

describe('--port', () => {
  it('a port mapping is accepted only as bindings core accepts unchanged (ports 1-65535 or 0 = any host port, tcp/udp/sctp, addresses, client subnets), else refused as a usage error', () => {
    fc.assert(
      fc.property(fc.array(portSpec, { maxLength: 3 }), allowFrom, (values, from) => {
        const r = attemptSync(() => parsePortFlags(values, from));
        if (!r.ok) return checkRefused(r, 'SWY_ERR_USAGE');
        check(r.value.length >= values.length, 'at least one binding per --port');
        // Named bindings are checked as core sees them: resolved against a sandbox that declares the name.
        const names = r.value.flatMap((b) => ('name' in b && b.name !== undefined ? [b.name] : []));
        const resolved = resolveNamedPorts(r.value, { name: 's', ports: [...new Set(names)].map((name) => ({ name, port: 80, protocol: 'tcp' as const })) });
        checkSame(normalizePortBindings(resolved), resolved);
      }),
      { numRuns: RUNS },
    );
  });
});

const netItem = fc.oneof(
  textFor(fc.oneof(objectNameText, fc.constantFrom('default', 'all', 'host', 'none')), 4),
  fc
    .tuple(
      objectNameText,
      fc.array(
        textFor(
          fc.oneof(ipv4Text, ipv6Text).map((a) => `IP=${a}`),
          4,
        ),
        { maxLength: 2 },
      ),
    )
    .map(([n, args]) => `${n}:${args.join(';')}`),
);
const netValue = fc.array(netItem, { minLength: 1, maxLength: 3 }).map((items) => items.join(','));

describe('--net', () => {
  it('a network list is accepted only as host or none alone, or distinct named networks with IPs of their family, else refused with a coded error', () => {
    fc.assert(
      fc.property(fc.array(netValue, { maxLength: 2 }), (values) => {
        const r = attemptSync(() => parseNetList(values));
        if (!r.ok) return checkRefused(r, 'SWY_ERR_USAGE', 'SWY_ERR_INVALID_OPTION', 'SWY_ERR_INVALID_CIDR');
        const list = r.value;
        if (list.kind !== 'contained') return check(values.join(',').split(',').length === 1, `--net=${list.kind} alone`);
        const names = list.requests.map((q) => q.name);
        check(new Set(names).size === names.length && names.every((n) => n !== '' && !/[,:]/.test(n)), () => `distinct plain names, got ${JSON.stringify(names)}`);
        for (const q of list.requests) {
          if (q.ipv4 !== undefined) check(parseIpAddress(q.ipv4).family === 4, () => `an IPv4 address, got ${q.ipv4}`);
          if (q.ipv6 !== undefined) check(parseIpAddress(q.ipv6).family === 6, () => `an IPv6 address, got ${q.ipv6}`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
