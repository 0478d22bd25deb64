import { HOST_NS, type EndpointRecord, type NetnsRef, type SandboxRecord, type Switchyard } from '@switchyard/core';
import type { OutsideWorld } from './lab.js';
import { formatRows, formatTable } from '../output/table.js';
import { netnsText } from '../output/views.js';
import type { PingFn, PingResult, ResolveFn } from './ping.js';

/** One expected outcome of the demo and whether it happened. */
export interface DemoCheck {
  section: string;
  what: string;
  ok: boolean;
  detail: string;
  ms?: number;
}

export interface DemoOutcome {
  ok: boolean;
  checks: DemoCheck[];
  /** Median wall time per operation, ms, with the number of samples. */
  timings: Record<string, { medianMs: number; samples: number }>;
  sandboxes: Array<{ name: string; netns: string; endpoints: Array<Pick<EndpointRecord, 'networkName' | 'ifname' | 'ipv4' | 'gateway4'>> }>;
}

export interface DemoEnv {
  sy: Switchyard;
  ping: PingFn;
  /** Name lookups from inside a sandbox (the DNS check runs when the network has a responder). */
  resolve?: ResolveFn;
  now: () => number;
  /** Human output (nothing under --json). */
  print: (text: string) => void;
  /** What the lab's kernel does with packets between its interfaces, for the isolation explanation. */
  ipForward: string;
  /** The rest of the world (a namespace behind the lab host), when the demo runs in its real lab with a firewall. */
  outside?: OutsideWorld;
  /** Echo traffic for the outside-world checks (the server reports the client address it saw). */
  echo?: { serve: (ns: NetnsRef, port: number) => Promise<{ stop(): Promise<void> }>; ask: (ns: NetnsRef, host: string, port: number) => Promise<string> };
}

const NETWORKS = [
  { name: 'frontend', driver: 'bridge', subnet: '10.88.0.0/24' },
  { name: 'backend', driver: 'veth', subnet: '10.89.0.0/24' },
] as const;
const PLACEMENT = [
  { sandbox: 'web1', network: 'frontend' },
  { sandbox: 'web2', network: 'frontend' },
  { sandbox: 'db', network: 'backend' },
] as const;
const PINGS = 3;
/** The host port web1's port 80 is published on (when there is a firewall). */
const PUBLISHED = 8080;

const mark = (ok: boolean) => (ok ? '✓' : '✗');
const ms = (v: number | undefined) => (v === undefined ? '' : `${v.toFixed(1)} ms`);

/**
 * The demo's story against one Switchyard instance: two networks, three sandboxes, pings that must
 * answer and one that must not, then a teardown that must leave nothing. Every step is a check.
 */
export async function runDemoScenario(env: DemoEnv): Promise<DemoOutcome> {
  const { sy, now, print } = env;
  const checks: DemoCheck[] = [];
  const samples: Record<string, number[]> = {};
  let section = '';
  let rows: DemoCheck[] = [];
  const begin = (title: string) => {
    section = title;
    rows = [];
    print(`\n${title}\n`);
  };
  const flush = (cells: (c: DemoCheck) => string[]) =>
    print(
      formatRows(
        rows.map((c) => [mark(c.ok), ...cells(c)]),
        '  ',
      ),
    );
  const record = (c: Omit<DemoCheck, 'section'>) => {
    const full = { section, ...c };
    checks.push(full);
    rows.push(full);
    return full.ok;
  };
  const timed = async <T>(op: string, fn: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const t0 = now();
    const value = await fn();
    const took = now() - t0;
    (samples[op] ??= []).push(took);
    return { value, ms: took };
  };

  const sandboxes = new Map<string, SandboxRecord>();
  try {
    begin('1. Networks');
    print('  frontend is a Linux bridge (a virtual switch); backend is point-to-point veth links to the host.');
    const firewall = sy.controller.firewallName !== 'none';
    if (firewall) print(`  frontend masquerades: its traffic leaves the host with the host's address (firewall: ${sy.controller.firewallName}).`);
    for (const n of NETWORKS) {
      const masquerade = firewall && n.name === 'frontend';
      const { value, ms: t } = await timed('create network', () => sy.controller.createNetwork({ name: n.name, driver: n.driver, ipam: { ipv4: [{ subnet: n.subnet }] }, ...(masquerade ? { options: { ipMasq: true } } : {}) }));
      record({ what: `${n.name}`, ok: value.ipv4?.subnet === n.subnet, detail: `${n.driver} network ${value.ipv4?.subnet ?? '?'}, gateway ${value.ipv4?.gateway ?? '-'}${masquerade ? ', masquerade' : ''}`, ms: t });
    }
    flush((c) => [c.what, c.detail, ms(c.ms)]);

    begin('2. Sandboxes');
    print('  Each sandbox is its own network namespace: its own interfaces, addresses and routes, like a container.');
    for (const p of PLACEMENT) {
      const { value, ms: t } = await timed('create sandbox', () => sy.controller.createSandbox({ name: p.sandbox }));
      sandboxes.set(p.sandbox, value);
      record({ what: p.sandbox, ok: true, detail: netnsText(value.netns), ms: t });
    }
    flush((c) => [c.what, c.detail, ms(c.ms)]);

    begin('3. Connections');
    print('  Connecting makes an endpoint: a veth pair with one end inside the sandbox, named eth0, and an address from the network.');
    if (firewall) print(`  web1 publishes its port 80 on the host's port ${PUBLISHED} (-p ${PUBLISHED}:80).`);
    for (const p of PLACEMENT) {
      const publish = firewall && p.sandbox === 'web1';
      const { value, ms: t } = await timed('connect', () => sy.controller.connect(p.network, p.sandbox, publish ? { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: PUBLISHED }] } : {}));
      record({ what: `${p.sandbox} → ${p.network}`, ok: value.ipv4 !== undefined, detail: `${value.ifname} ${value.ipv4 ?? '(no address)'}${publish ? `, port ${PUBLISHED}->80/tcp` : ''}`, ms: t });
    }
    flush((c) => [c.what, c.detail, ms(c.ms)]);
    for (const name of sandboxes.keys()) sandboxes.set(name, await sy.controller.inspectSandbox(name));

    print('\n4. Who is where\n');
    const table = [...sandboxes.values()].flatMap((s) => s.endpoints.map((e) => [s.name, e.networkName, e.ifname, e.ipv4 ?? '-', e.gateway4 ?? '-', netnsText(s.netns)]));
    print(formatTable(['SANDBOX', 'NETWORK', 'IFACE', 'ADDRESS', 'GATEWAY', 'NETNS'], table, '  '));

    begin('5. Traffic');
    print('  web1 and web2 share the frontend bridge; db has only its own link to the host.');
    const web1 = sandboxes.get('web1') as SandboxRecord;
    const web2 = sandboxes.get('web2') as SandboxRecord;
    const db = sandboxes.get('db') as SandboxRecord;
    const addr = (s: SandboxRecord) => (s.endpoints[0]?.ipv4 ?? '').split('/')[0] ?? '';
    const dbGateway = db.endpoints[0]?.gateway4 ?? '';
    const p1 = await env.ping(web1, addr(web2), PINGS);
    (samples['ping rtt'] ??= []).push(...p1.times);
    record({ what: `web1 → web2 (${addr(web2)})`, ok: p1.received > 0, detail: p1.received > 0 ? `${replies(p1)}: ${p1.times.map((x) => `${x.toFixed(3)} ms`).join(', ')}` : `no reply: ${replies(p1)}` });
    const p2 = await env.ping(db, addr(web1), PINGS);
    record({
      what: `db → web1 (${addr(web1)})`,
      ok: p2.received === 0,
      detail:
        p2.received === 0
          ? firewall
            ? "no reply, as expected: other network; Switchyard's firewall keeps networks apart even with forwarding on"
            : `no reply, as expected: other network, and the lab does not route between them (ip_forward ${env.ipForward})`
          : `unexpected: ${replies(p2)}; db should be isolated from frontend`,
    });
    // Names: frontend's DNS responder (on its gateway) answers web1 with web2's address.
    const dnsServer = web1.endpoints[0]?.dnsServers?.[0];
    if (dnsServer !== undefined && env.resolve) {
      const got = await env.resolve(web1, dnsServer, 'web2');
      record({
        what: 'web1 looks up "web2"',
        ok: Array.isArray(got) && got.includes(addr(web2)),
        detail: Array.isArray(got) ? `${got.join(', ')}, from frontend's DNS responder on ${dnsServer}` : `no answer from ${dnsServer}: ${got}`,
      });
    }
    const p3 = await env.ping(db, dbGateway, PINGS);
    (samples['ping rtt'] ??= []).push(...p3.times);
    record({
      what: `db → its host end (${dbGateway})`,
      ok: p3.received > 0,
      detail: p3.received > 0 ? `${replies(p3)}: ${p3.times.map((x) => `${x.toFixed(3)} ms`).join(', ')} (point-to-point gateway)` : `no reply: ${replies(p3)}`,
    });
    flush((c) => [c.what, c.detail]);

    if (env.outside && env.echo) {
      await outsideWorld(env.outside, env.echo, web1, web2, begin, record);
      flush((c) => [c.what, c.detail]);
    } else if (!firewall) print('\n  (No firewall backend: masquerade and published ports are left out. Install nftables to see them.)');
  } catch (e) {
    record({ what: 'unexpected failure', ok: false, detail: e instanceof Error ? e.message : String(e) });
    flush((c) => [c.what, c.detail]);
  }

  begin(env.outside && env.echo ? '7. Teardown' : '6. Teardown');
  await env.outside?.dispose();
  await teardown(env, sandboxes, timed, record);
  flush((c) => [c.what, c.detail, ms(c.ms)]);

  const timings = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { medianMs: median(v), samples: v.length }]));
  const outcome: DemoOutcome = {
    ok: checks.every((c) => c.ok),
    checks,
    timings,
    sandboxes: [...sandboxes.values()].map((s) => ({
      name: s.name,
      netns: netnsText(s.netns),
      endpoints: s.endpoints.map((e) => ({ networkName: e.networkName, ifname: e.ifname, ipv4: e.ipv4, gateway4: e.gateway4 })),
    })),
  };
  print('\nTimings (median wall time)\n');
  print(
    formatTable(
      ['OPERATION', 'MEDIAN', 'RUNS'],
      Object.entries(timings).map(([k, v]) => [k, `${v.medianMs.toFixed(k === 'ping rtt' ? 3 : 1)} ms`, String(v.samples)]),
      '  ',
    ),
  );
  const failed = checks.filter((c) => !c.ok);
  print(
    failed.length === 0
      ? `\n✓ all ${checks.length} checks passed (connect took ${timings.connect?.medianMs.toFixed(1) ?? '?'} ms median)\n`
      : `\n✗ ${failed.length} of ${checks.length} checks failed: ${failed.map((c) => c.what).join('; ')}\n`,
  );
  return outcome;
}

type Timed = <T>(op: string, fn: () => Promise<T>) => Promise<{ value: T; ms: number }>;

/** Section 6: a client outside reaches web1's published port and is seen with its own address; web2 goes out masqueraded. */
async function outsideWorld(outside: OutsideWorld, echo: NonNullable<DemoEnv['echo']>, web1: SandboxRecord, web2: SandboxRecord, begin: (title: string) => void, record: (c: Omit<DemoCheck, 'section'>) => boolean): Promise<void> {
  begin('6. The outside world');
  record({ what: 'outside', ok: true, detail: `a namespace beyond the host (${outside.clientAddress}) plays the internet` });
  const servers = [await echo.serve(web1.netns, 80), await echo.serve(outside.ns, 80)];
  try {
    const inbound = await echo.ask(outside.ns, outside.hostAddress, PUBLISHED);
    record({
      what: `outside (${outside.clientAddress}) → host ${outside.hostAddress}:${PUBLISHED}`,
      ok: inbound === `from ${outside.clientAddress}`,
      detail: inbound.startsWith('from') ? `web1 answered and saw the client as ${inbound.slice(5)} (published port, real client address)` : `no answer: ${inbound}`,
    });
    const outbound = await echo.ask(web2.netns, outside.clientAddress, 80);
    record({
      what: `web2 → outside (${outside.clientAddress}:80)`,
      ok: outbound === `from ${outside.hostAddress}`,
      detail: outbound.startsWith('from') ? `the outside saw ${outbound.slice(5)}, the host's address: masqueraded` : `no answer: ${outbound}`,
    });
  } finally {
    for (const s of servers) await s.stop();
  }
}

/** Disconnects, removes sandboxes and networks (whatever exists), then checks that no link or namespace is left. */
async function teardown(env: DemoEnv, sandboxes: Map<string, SandboxRecord>, timed: Timed, record: (c: Omit<DemoCheck, 'section'>) => boolean): Promise<void> {
  const { sy } = env;
  const errors: string[] = [];
  const attempt = async (label: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      errors.push(`${label}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const existing = await sy.controller.listSandboxes();
  let disconnected = 0;
  for (const s of existing) for (const e of s.endpoints) await attempt(`disconnect ${s.name}`, async () => (await timed('disconnect', () => sy.controller.disconnect(e.networkName, s.name)), disconnected++));
  for (const s of existing) await attempt(`remove ${s.name}`, () => timed('remove sandbox', () => sy.controller.deleteSandbox(s.name)));
  const networks = await sy.controller.listNetworks();
  for (const n of networks) await attempt(`remove ${n.name}`, () => timed('remove network', () => sy.controller.deleteNetwork(n.name)));
  record({ what: 'removed', ok: errors.length === 0, detail: errors.length === 0 ? `${disconnected} endpoints disconnected, ${existing.length} sandboxes and ${networks.length} networks removed` : errors.join('; ') });

  // The kernel destroys a deleted namespace's links asynchronously: give it up to ~3 s to finish.
  let links: string[] = [];
  let namespaces: string[] = [];
  for (let attempt = 0; attempt < 30; attempt++) {
    links = (await sy.kernel.listLinks(HOST_NS)).map((l) => l.name).filter((n) => n !== 'lo');
    namespaces = [];
    for (const name of sandboxes.keys()) if (await sy.kernel.netnsExists({ kind: 'named', name })) namespaces.push(name);
    if (links.length === 0 && namespaces.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const clean = links.length === 0 && namespaces.length === 0;
  record({ what: 'nothing left', ok: clean, detail: clean ? 'no links besides lo, no sandbox namespaces' : `left behind: ${[...links, ...namespaces.map((n) => `netns ${n}`)].join(', ')}` });
}

function replies(p: PingResult): string {
  return `${p.received}/${p.sent} replies`;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
