// Multi-host networks on etcd (issue 14), inside the lab namespace, each beside its peer in the same run:
//   - connect latency on an overlay network (global IPAM and endpoint registration in etcd, VXLAN) against a
//     local bridge network (host-local), on one instance, alternating operation by operation;
//   - address allocations per second from 3 hosts at once, 1 and 16 in flight per host: the global IPAM
//     (per-host blocks claimed by CAS, group commit) against per-address CAS with a shared hint (the naive
//     design the issue measured at 150-200/s);
//   - TCP throughput (iperf3) between sandboxes on two hosts across the overlay, against the plain veth path
//     between the same two hosts (underlay veth - bridge - veth, no encapsulation).
// etcd keeps its data on a tmpfs (/dev/shm): the figures are Switchyard's and etcd's round trips, not the disk's fsync.
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchDir } from './dirs.mjs';
import { summary } from './stats.mjs';

const root = new URL('..', import.meta.url).pathname;
const load = (pkg) => import(join(root, 'packages', pkg, 'dist/index.js'));
const timed = async (fn) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

export default async function bench({ log, count = 200, quick = false }) {
  const [core, etcdPkg, agentPkg, overlay, bridge, hostLocal, globalIpam] = await Promise.all(['core', 'store-etcd', 'agent', 'driver-overlay', 'driver-bridge', 'ipam-host-local', 'ipam-global'].map(load));
  const rows = [];
  const stateRoot = benchDir('swy-bench-mh-');
  const lab = await agentPkg.createMultiHostLab({ stateRoot, prefix: 'swybh', underlay: '10.98.0', cli: join(root, 'packages/cli/bin/switchyard.js') });
  const etcd = await etcdPkg.startEtcdServer({ address: lab.bridgeAddress, port: 2379, dataDir: `/dev/shm/swy-bench-etcd-${process.pid}` });
  const cleanups = [];
  try {
    // --- connect latency: this namespace is a host of the cluster (its underlay address is the bridge's).
    {
      const n = Math.min(count, 200);
      const store = await etcdPkg.openEtcdStore({ endpoints: etcd.url, hostName: 'bench' });
      const lease = new etcdPkg.HostLease(store, lab.bridgeAddress, 30);
      await lease.start();
      const stateDir = benchDir('swy-bench-mh-sy-');
      const sy = await core.createSwitchyard({ stateDir, globalStore: store, drivers: [bridge.default, overlay.default], ipams: [hostLocal.default, globalIpam.default], autoloadPlugins: false });
      cleanups.push(async () => {
        await sy.close();
        await lease.stop({ revoke: true });
        rmSync(stateDir, { recursive: true, force: true });
      });
      const c = sy.controller;
      await c.createNetwork({ name: 'local', driver: 'bridge', options: { bridge: 'swybhloc' }, ipam: { ipv4: [{ subnet: '10.94.0.0/16' }] } });
      await c.createNetwork({ name: 'ov', driver: 'overlay', ipam: { ipv4: [{ subnet: '10.93.0.0/16' }] } });
      const sbs = [];
      for (let i = 0; i < n; i++) sbs.push((await c.createSandbox({ name: `mhb${i}` })).name);
      log(`multi-host: ${n} connects and disconnects, overlay (etcd) / local bridge alternating…`);
      const t = { ov: [], local: [], ovDel: [], localDel: [] };
      for (const s of sbs) {
        t.ov.push(await timed(() => c.connect('ov', s)));
        t.local.push(await timed(() => c.connect('local', s)));
      }
      for (const s of sbs) {
        t.ovDel.push(await timed(() => c.disconnect('ov', s)));
        t.localDel.push(await timed(() => c.disconnect('local', s)));
      }
      const [ov, local, ovDel, localDel] = [t.ov, t.local, t.ovDel, t.localDel].map(summary);
      rows.push({ name: 'overlay connect, etcd (peer: local bridge connect)', ours: ov.median, peer: local.median, unit: 'ms', lowerIsBetter: true, p95: { ours: ov.p95, peer: local.p95 } });
      rows.push({ name: 'overlay disconnect, etcd (peer: local bridge disconnect)', ours: ovDel.median, peer: localDel.median, unit: 'ms', lowerIsBetter: true, p95: { ours: ovDel.p95, peer: localDel.p95 } });
      for (const s of sbs) await c.deleteSandbox(s);
      await c.deleteNetwork('ov');
      await c.deleteNetwork('local');
    }

    // --- allocations per second from three hosts at once.
    {
      const perHost = quick ? 200 : 1000;
      const hosts = [];
      for (const h of ['a1', 'a2', 'a3']) {
        const store = await etcdPkg.openEtcdStore({ endpoints: etcd.url, hostName: h });
        const lease = new etcdPkg.HostLease(store, `10.98.1.${hosts.length + 1}`, 30);
        await lease.start();
        const ipam = globalIpam.default.create({ globalStore: store, store: new core.MemoryStore(), logger: core.silentLogger, stateDir: stateRoot });
        // The naive peer retries as long as it takes (under contention it conflicts far more than 50 times in a row).
        const naiveStore = await etcdPkg.openEtcdStore({ endpoints: etcd.url, hostName: h, maxAttempts: 1_000_000 });
        cleanups.push(() => naiveStore.close());
        hosts.push({ store, lease, ipam, naiveStore });
        cleanups.push(async () => {
          await lease.stop({ revoke: true });
          await store.close();
        });
      }
      const ours = async (inFlight, net, subnet) => {
        const pools = [];
        for (const h of hosts) pools.push((await h.ipam.requestPool({ networkId: net, networkName: net, family: 4, ranges: [{ subnet }], exclude: [], options: {} })).poolId);
        let next = 0;
        const t0 = performance.now();
        await Promise.all(
          hosts.map(async (h, hi) => {
            let left = perHost;
            await Promise.all(
              Array.from({ length: inFlight }, async () => {
                while (left-- > 0) await h.ipam.requestAddress({ poolId: pools[hi], owner: { id: `o${next++}`, ifname: 'eth0' }, newOwner: true });
              }),
            );
          }),
        );
        return (hosts.length * perHost) / ((performance.now() - t0) / 1000);
      };
      // The naive peer: one CAS per address, every host starting from a shared "next address" hint.
      const naive = async (inFlight, net) => {
        const t0 = performance.now();
        let done = 0;
        await Promise.all(
          hosts.map(async (h) => {
            let left = perHost;
            await Promise.all(
              Array.from({ length: inFlight }, async () => {
                while (left-- > 0) {
                  await h.naiveStore.transaction(async (tx) => {
                    const hint = (await tx.get('plugin:bench-naive', `${net}.hint`)) ?? { next: 1 };
                    let n = hint.next;
                    while (await tx.get('plugin:bench-naive', `${net}.${n}`)) n++;
                    await tx.put('plugin:bench-naive', `${net}.${n}`, { owner: h.naiveStore.hostName });
                    await tx.put('plugin:bench-naive', `${net}.hint`, { next: n + 1 });
                  });
                  done++;
                }
              }),
            );
          }),
        );
        return done / ((performance.now() - t0) / 1000);
      };
      for (const inFlight of [1, 16]) {
        log(`multi-host: ${hosts.length} hosts x ${perHost} allocations, ${inFlight} in flight per host, global IPAM / per-address CAS…`);
        const a = await ours(inFlight, `bench${inFlight}`, inFlight === 1 ? '10.64.0.0/14' : '10.68.0.0/14');
        const b = await naive(inFlight, `naive${inFlight}`);
        rows.push({ name: `allocations/s, 3 hosts x ${inFlight} in flight (peer: per-address CAS)`, ours: a, peer: b, unit: '/s', lowerIsBetter: false });
      }
    }

    // --- TCP throughput across the overlay against the plain veth path between the same hosts.
    {
      const [h1, h2] = lab.hosts;
      const sy = (h, ...args) => {
        const r = lab.switchyard(h, etcd.url, args);
        if (r.exitCode !== 0) throw new Error(`[${h.name}] switchyard ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      const agents = [h1, h2].map((h) => lab.agent(h, etcd.url));
      cleanups.push(() => Promise.all(agents.map(agentPkg.killAndWait)));
      const store = await etcdPkg.openEtcdStore({ endpoints: etcd.url, hostName: 'watcher' });
      for (let i = 0; i < 200 && (!(await store.host(h1.name)) || !(await store.host(h2.name))); i++) await new Promise((r) => setTimeout(r, 50));
      await store.close();
      sy(h1, 'network', 'create', 'tp', '--driver', 'overlay', '--subnet', '10.92.0.0/16');
      sy(h2, 'network', 'create', 'tp', '--driver', 'overlay');
      for (const [h, s] of [
        [h1, 'tpa'],
        [h2, 'tpb'],
      ]) {
        sy(h, 'sandbox', 'create', s);
        sy(h, 'connect', 'tp', s);
      }
      const ipOf = (h, s) => JSON.parse(sy(h, '--json', 'sandbox', 'inspect', s)).sandbox.endpoints[0].ipv4.split('/')[0];
      const [a, b] = [ipOf(h1, 'tpa'), ipOf(h2, 'tpb')];
      for (let i = 0; i < 200 && spawnSync('nsenter', ['--net=/run/netns/tpa', 'ping', '-c1', '-W1', b]).status !== 0; i++);
      const iperf = (clientNs, serverNs, serverIp) => {
        const server = spawn('nsenter', [`--net=/run/netns/${serverNs}`, 'iperf3', '-s', '-1', '-B', serverIp], { stdio: 'ignore' });
        spawnSync('sleep', ['0.3']);
        const r = spawnSync('nsenter', [`--net=/run/netns/${clientNs}`, 'iperf3', '-c', serverIp, '-t', quick ? '2' : '5', '-J'], { encoding: 'utf8' });
        server.kill('SIGKILL');
        if (r.status !== 0) throw new Error(`iperf3: ${r.stdout}${r.stderr}`);
        return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
      };
      const runs = quick ? 1 : 3;
      const t = { ov: [], veth: [] };
      log(`multi-host: TCP throughput (iperf3), overlay / plain veth path alternating, ${runs} run(s)…`);
      for (let i = 0; i < runs; i++) {
        t.ov.push(iperf('tpa', 'tpb', b));
        t.veth.push(iperf(h1.name, h2.name, h2.address));
      }
      void a;
      const [ov, veth] = [t.ov, t.veth].map(summary);
      rows.push({ name: 'TCP throughput across the overlay (peer: plain veth path)', ours: ov.median, peer: veth.median, unit: 'Gbit/s', lowerIsBetter: false });
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await etcd.stop({ wipe: true });
    spawnSync('ip', ['netns', 'del', 'tpa']);
    spawnSync('ip', ['netns', 'del', 'tpb']);
    await lab.destroy();
    rmSync(stateRoot, { recursive: true, force: true });
  }
  return rows;
}
