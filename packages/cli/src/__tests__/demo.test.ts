import type { PingFn } from '../demo/ping.js';
import { parsePing } from '../demo/ping.js';
import { harness, type Harness } from './harness.js';

/** A ping that answers inside one network and to a sandbox's own gateway, as the real lab does. */
const labPing: PingFn = async (from, address, count) => {
  const e = from.endpoints[0];
  const sameSubnet = e?.ipv4 !== undefined && e.ipv4.split('.').slice(0, 3).join('.') === address.split('.').slice(0, 3).join('.');
  return sameSubnet ? { sent: count, received: count, times: [0.05, 0.06, 0.07].slice(0, count) } : { sent: count, received: 0, times: [] };
};

describe('switchyard demo (scenario on FakeKernel)', () => {
  let h: Harness;
  afterEach(() => h.dispose());

  test('builds the lab, shows who is where, checks the pings, tears down and reports timings', async () => {
    h = harness({ demoInPlace: true, ping: labPing });
    const r = await h.run('demo');
    expect(r.code).toBe(0);
    const out = r.stdout;
    for (const s of ['1. Networks', '2. Sandboxes', '3. Connections', 'own network namespace', '4. Who is where', '5. Traffic', '6. Teardown', 'Timings (median wall time)']) expect(out).toContain(s);
    expect(out).toMatch(/✓ {2}frontend {2}bridge network 10\.88\.0\.0\/24, gateway 10\.88\.0\.1/);
    expect(out).toMatch(/web1\s+frontend\s+eth0\s+10\.88\.0\.2\/24\s+10\.88\.0\.1\s+\/run\/netns\/web1/);
    expect(out).toMatch(/db\s+backend\s+eth0\s+10\.89\.0\.2\/24\s+10\.89\.0\.1/);
    expect(out).toMatch(/✓ {2}web1 → web2 \(10\.88\.0\.3\)\s+3\/3 replies: 0\.050 ms, 0\.060 ms, 0\.070 ms/);
    expect(out).toMatch(/✓ {2}db → web1 \(10\.88\.0\.2\)\s+no reply, as expected/);
    expect(out).toMatch(/✓ {2}db → its host end \(10\.89\.0\.1\)/);
    expect(out).toMatch(/✓ {2}nothing left\s+no links besides lo, no sandbox namespaces/);
    expect(out).toMatch(/connect\s+\d+\.\d ms\s+3/);
    expect(out).toMatch(/✓ all 13 checks passed \(connect took \d+\.\d ms median\)/);
    expect(h.fake.linkNames()).toEqual(['lo']);
  });

  test('exits non-zero and names the check when an expected outcome fails', async () => {
    const everythingAnswers: PingFn = async (_from, _a, count) => ({ sent: count, received: count, times: [0.1, 0.1, 0.1] });
    h = harness({ demoInPlace: true, ping: everythingAnswers });
    const r = await h.run('demo');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ {2}db → web1 \(10\.88\.0\.2\)\s+unexpected: 3\/3 replies; db should be isolated from frontend/);
    expect(r.stdout).toContain('✗ 1 of 13 checks failed: db → web1 (10.88.0.2)');
    expect(r.stderr).toMatch(/^error: The demo saw 1 unexpected outcome\(s\)/);
  });

  test('--json prints the checks and timings as one document', async () => {
    h = harness({ demoInPlace: true, ping: labPing });
    const r = await h.run('demo', '--json');
    expect(r.code).toBe(0);
    const d = r.json().demo;
    expect(d.ok).toBe(true);
    expect(d.checks).toHaveLength(13);
    expect(Object.keys(d.timings)).toEqual(expect.arrayContaining(['create network', 'create sandbox', 'connect', 'disconnect', 'remove sandbox', 'remove network', 'ping rtt']));
    expect(d.sandboxes.map((s: { name: string }) => s.name)).toEqual(['web1', 'web2', 'db']);
  });

  test('ping output is read for reply times and counts', () => {
    const out =
      'PING 10.88.0.3 (10.88.0.3) 56(84) bytes of data.\n64 bytes from 10.88.0.3: icmp_seq=1 ttl=64 time=0.045 ms\n64 bytes from 10.88.0.3: icmp_seq=2 ttl=64 time=0.061 ms\n\n--- 10.88.0.3 ping statistics ---\n3 packets transmitted, 2 received, 33.3333% packet loss, time 401ms\n';
    expect(parsePing(out)).toEqual({ sent: 3, received: 2, times: [0.045, 0.061] });
    expect(parsePing('--- x ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2031ms\n')).toEqual({ sent: 3, received: 0, times: [] });
  });
});
