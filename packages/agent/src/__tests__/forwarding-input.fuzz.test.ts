import fc from 'fast-check';
import type { GlobalEndpoint } from '@switchyard/core';
import type { RoutedSubnet } from '@switchyard/driver-routed';
import { RUNS, addressText, cidrText, check, macText, sometimesExotic, textFor } from '../../../core/src/__tests__/hostile-input.js';
import { desiredForwarding, emptyForwarding, planForwarding } from '../forwarding.js';

// The agent turns other hosts' documents (read from etcd) into `bridge -batch` and `ip -batch` lines run
// as root on this host. Whatever a document holds, every line is one of the agent's own forms with
// well-formed values, and a document is either used whole or left out.
const MAC = '[0-9a-f]{2}(?::[0-9a-f]{2}){5}';
const IP = '[0-9a-f:.]+';
const LINES = [
  new RegExp(`^fdb replace ${MAC} dev vx-[0-9]+ dst ${IP} self permanent$`),
  new RegExp(`^neigh replace ${IP} lladdr ${MAC} dev vx-[0-9]+ nud permanent$`),
  new RegExp(`^route replace ${IP}/[0-9]{1,3} via ${IP} proto 83$`),
];

const endpoint: fc.Arbitrary<GlobalEndpoint> = fc.record({
  id: fc.stringMatching(/^[0-9a-f]{1,8}$/),
  network: fc.constantFrom('ov', 'other'),
  driver: fc.constantFrom('overlay', 'overlay', 'routed'),
  host: fc.constantFrom('h1', 'h2', 'h3'),
  hostAddress: sometimesExotic(textFor(addressText)) as fc.Arbitrary<string>,
  mac: sometimesExotic(textFor(macText)) as fc.Arbitrary<string>,
  ipv4: fc.option(sometimesExotic(textFor(cidrText)) as fc.Arbitrary<string>, { nil: undefined }),
  ipv6: fc.option(sometimesExotic(textFor(cidrText)) as fc.Arbitrary<string>, { nil: undefined }),
});
const subnet: fc.Arbitrary<RoutedSubnet> = fc.record({
  network: fc.constantFrom('rt'),
  host: fc.constantFrom('h1', 'h2', 'h3'),
  hostAddress: sometimesExotic(textFor(addressText)) as fc.Arbitrary<string>,
  subnet: sometimesExotic(fc.oneof(textFor(cidrText), fc.constant('default'))) as fc.Arbitrary<string>,
});

test(`hostile endpoint and subnet documents never put anything but the agent's own well-formed lines in a batch (${RUNS} cases)`, () => {
  fc.assert(
    fc.property(fc.array(endpoint, { maxLength: 6 }), fc.array(subnet, { maxLength: 4 }), (endpoints, subnets) => {
      const skipped: string[] = [];
      const desired = desiredForwarding({ me: 'h1', vxlanOf: new Map([['ov', 'vx-4096']]), endpoints, subnets }, (key) => skipped.push(key));
      const { bridge, ip } = planForwarding(desired, emptyForwarding());
      for (const line of [...bridge, ...ip])
        check(
          LINES.some((re) => re.test(line)),
          () => `a batch line of an unexpected form: ${JSON.stringify(line)}`,
        );
      // Each document alone is either used whole (its entry or route) or reported, never half of it.
      for (const doc of [...endpoints.map((e) => ({ endpoints: [e], subnets: [] })), ...subnets.map((r) => ({ endpoints: [], subnets: [r] }))]) {
        const reported: string[] = [];
        const alone = desiredForwarding({ me: 'h1', vxlanOf: new Map([['ov', 'vx-4096']]), ...doc }, (key) => reported.push(key));
        const used = alone.fdb.size + alone.routes.size;
        const candidate = doc.endpoints.some((e) => e.host !== 'h1' && e.network === 'ov' && e.driver === 'overlay' && e.mac !== undefined) || doc.subnets.some((r) => r.host !== 'h1');
        check(candidate ? used + reported.length === 1 : used + reported.length + alone.neigh.size === 0, () => `${JSON.stringify(doc)}: used ${used}, reported ${reported.length}`);
        if (reported.length > 0) check(alone.neigh.size === 0, 'a reported endpoint left a neighbour entry');
      }
      for (const r of desired.routes.values()) check(!r.dst.endsWith('/0'), () => `a default route from a document: ${r.dst}`);
    }),
    { numRuns: RUNS },
  );
});
