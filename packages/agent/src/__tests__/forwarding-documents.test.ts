import type { GlobalEndpoint } from '@switchyard/core';
import type { RoutedSubnet } from '@switchyard/driver-routed';
import { desiredForwarding, emptyForwarding, planForwarding } from '../forwarding.js';

const good: GlobalEndpoint = { id: 'e1', network: 'ov', driver: 'overlay', host: 'h2', hostAddress: '10.99.0.2', mac: '02:00:00:00:00:01', ipv4: '10.200.0.2/16' };
const goodSubnet: RoutedSubnet = { network: 'rt', host: 'h2', hostAddress: '10.99.0.2', subnet: '10.210.1.0/24' };

function plan(endpoints: GlobalEndpoint[], subnets: RoutedSubnet[] = []) {
  const skipped: string[] = [];
  const desired = desiredForwarding({ me: 'h1', vxlanOf: new Map([['ov', 'vx-4096']]), endpoints, subnets }, (key, reason) => skipped.push(`${key}: ${reason}`));
  const { bridge, ip } = planForwarding(desired, emptyForwarding());
  return { lines: [...bridge, ...ip], skipped };
}

describe("the agent's desired state from other hosts' documents", () => {
  it('programs a well-formed endpoint and subnet of another host', () => {
    expect(plan([good], [goodSubnet]).lines).toEqual([
      'fdb replace 02:00:00:00:00:01 dev vx-4096 dst 10.99.0.2 self permanent',
      'neigh replace 10.200.0.2 lladdr 02:00:00:00:00:01 dev vx-4096 nud permanent',
      'route replace 10.210.1.0/24 via 10.99.0.2 proto 83',
    ]);
  });

  it.each([
    ['a MAC carrying a second batch line', { mac: '02:00:00:00:00:01 dev vx-4096 dst 10.99.0.2 self permanent\nfdb append 00:00:00:00:00:00 dev vx-4096 dst 10.99.0.66' }],
    ['a host address carrying more words', { hostAddress: '10.99.0.2 self permanent\nfdb del 02:00:00:00:00:09 dev vx-4096' }],
    ['an IPv4 address carrying another command', { ipv4: '10.200.0.2/16\nroute replace default via 10.99.0.66' }],
    ['a multicast MAC', { mac: '01:00:5e:00:00:01' }],
    ['an IPv6 address as ipv4', { ipv4: 'fd00::2/64' }],
    ['a loopback host address', { hostAddress: '127.0.0.1' }],
    ['an unspecified host address', { hostAddress: '0.0.0.0' }],
  ])('leaves out an endpoint with %s, and says so', (_what, bad) => {
    const { lines, skipped } = plan([good, { ...good, id: 'e2', ...bad }]);
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => !l.includes('\n') && !l.includes('10.99.0.66') && !l.includes('00:00:00:00:00:00'))).toBe(true);
    expect(skipped).toEqual([expect.stringMatching(/^endpoint e2: /)]);
  });

  it.each([
    ['"default"', { subnet: 'default' }],
    ['a /0', { subnet: '0.0.0.0/0' }],
    ['a subnet carrying another command', { subnet: '10.210.2.0/24 via 10.99.0.2\nroute replace default' }],
    ['host bits set', { subnet: '10.210.2.1/24' }],
    ['a via of the other family', { hostAddress: 'fd00::2' }],
    ['a multicast subnet', { subnet: '224.0.0.0/24' }],
  ])('never routes a subnet document with %s', (_what, bad) => {
    const { lines, skipped } = plan([], [goodSubnet, { ...goodSubnet, host: 'h3', ...bad }]);
    expect(lines).toEqual(['route replace 10.210.1.0/24 via 10.99.0.2 proto 83']);
    expect(skipped).toHaveLength(1);
  });
});
