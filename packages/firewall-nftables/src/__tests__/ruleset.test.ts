import type { FirewallEndpoint, FirewallNetwork } from '@switchyard/core';
import { changeScript, portElements, syncScript } from '../ruleset.js';

const web: FirewallNetwork = { id: 'n1', name: 'web', interfaces: ['swyweb'], subnets: ['10.1.0.0/24', 'fd00:1::/64'], masquerade: true, internal: false, antiSpoof: false };

function endpoint(ports: number): FirewallEndpoint {
  return {
    id: `e${ports}`,
    name: `s${ports}.web`,
    networkId: 'n1',
    interfaces: [],
    ipv4: '10.1.0.2',
    ipv6: 'fd00:1::2',
    ports: Array.from({ length: ports }, (_, i) => ({ protocol: 'tcp' as const, hostPort: 20000 + i, containerPort: 80 })),
  };
}

const count = (script: string, prefix: string) => script.split('\n').filter((l) => l.startsWith(prefix)).length;

describe('the nftables ruleset', () => {
  it('publishing 1000 ports adds map elements in one statement per family, and no rule', () => {
    const ten = changeScript({ addEndpoints: [{ network: web, endpoint: endpoint(10) }] });
    const thousand = changeScript({ addEndpoints: [{ network: web, endpoint: endpoint(1000) }] });
    expect(count(thousand, 'add rule')).toBe(count(ten, 'add rule'));
    expect(count(thousand, 'add element inet switchyard pub4')).toBe(1);
    expect(count(thousand, 'add element inet switchyard pub6')).toBe(1);
    expect(portElements(endpoint(1000))[4]).toHaveLength(1000);
  });

  it('each binding goes to one map by its shape: every address (pub), one address (pubaddr), an allow-list (ports, with intervals); a host address is for its family only, 0.0.0.0 and :: mean every address of theirs', () => {
    const e: FirewallEndpoint = {
      ...endpoint(0),
      ports: [
        { protocol: 'udp', hostPort: 53, containerPort: 53, hostIp: '192.168.1.10' },
        { protocol: 'tcp', hostPort: 80, containerPort: 80, hostIp: '::' },
        { protocol: 'tcp', hostPort: 81, containerPort: 80, allowFrom: '10.0.0.0/8' },
        { protocol: 'sctp', hostPort: 82, containerPort: 9, hostIp: '192.168.1.10', allowFrom: '10.0.0.0/8' },
        { protocol: 'tcp', hostPort: 83, containerPort: 8 },
      ],
    };
    expect(portElements(e)).toEqual({
      4: [
        { map: 'pubaddr', key: '192.168.1.10 . udp . 53', value: '10.1.0.2 . 53' },
        { map: 'ports', key: '10.0.0.0/8 . 0.0.0.0/0 . tcp . 81', value: '10.1.0.2 . 80' },
        { map: 'ports', key: '10.0.0.0/8 . 192.168.1.10 . sctp . 82', value: '10.1.0.2 . 9' },
        { map: 'pub', key: 'tcp . 83', value: '10.1.0.2 . 8' },
      ],
      6: [
        { map: 'pub', key: 'tcp . 80', value: 'fd00:1::2 . 80' },
        { map: 'pub', key: 'tcp . 83', value: 'fd00:1::2 . 8' },
      ],
    });
  });

  it('removal adds each element before deleting it, so removing what is absent succeeds in the same transaction', () => {
    const script = changeScript({ removeEndpoints: [{ network: web, endpoint: endpoint(1) }], removeNetworks: [web] });
    const lines = script.split('\n');
    for (const [i, line] of lines.entries()) {
      if (!line.startsWith('delete element')) continue;
      const set = line.split(' ')[4];
      expect(lines.slice(0, i).some((l) => l.startsWith(`add element inet switchyard ${set} `))).toBe(true);
    }
    expect(lines).toContain('delete chain inet switchyard net-web');
  });

  it('a sync replaces the whole table in one script, starting from nothing', () => {
    const script = syncScript({ networks: [web], endpoints: [endpoint(2)] });
    expect(script.startsWith('add table inet switchyard\ndelete table inet switchyard\n')).toBe(true);
    expect(script).toContain('add chain inet switchyard net-web');
    expect(script).toContain('comment "endpoint s2.web"');
  });
});
