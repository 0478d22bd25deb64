// host-local allocations per second: Switchyard's HostLocalAllocator in-process vs CNI's host-local binary exec'd
// once per allocation (as a runtime calls it). Same config, same range size, a fresh temp dataDir per repetition.
// Needs the built dist: run `npx tsc -b` first.
import { benchDir } from './dirs.mjs';
import { existsSync, rmSync } from 'node:fs';
import { CNI_BIN, execCni } from './cni.mjs';
import { median } from './stats.mjs';

const BINARY = `${CNI_BIN}/host-local`;
// 4094 addresses: room for `count` allocations on both sides without filling the range.
const SUBNET = '10.200.0.0/20';

function config(dataDir) {
  return { cniVersion: '1.0.0', name: 'bench', type: 'host-local', ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir } };
}

/** Runs `allocateAll(dataDir)` (`count` allocations) in a fresh temp dataDir and returns allocations per second. */
async function timed(count, allocateAll) {
  const dataDir = benchDir('swy-bench-ipam-');
  try {
    const start = process.hrtime.bigint();
    await allocateAll(dataDir);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return count / seconds;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export default async function bench({ log = console.log, runs = 3, count = 200 } = {}) {
  if (count > 4000) throw new Error(`count ${count} does not fit the benchmark range ${SUBNET}; use at most 4000`);
  if (!existsSync(BINARY)) throw new Error(`CNI host-local binary missing at ${BINARY}: run \`apt-get install containernetworking-plugins\``);
  const { HostLocalAllocator } = await import('../packages/ipam-host-local/dist/index.js');
  const ours = [];
  const peer = [];
  for (let run = 0; run < runs; run++) {
    ours.push(
      await timed(count, async (dataDir) => {
        const allocator = HostLocalAllocator.fromCniConfig(config(dataDir));
        for (let i = 0; i < count; i++) await allocator.allocate({ id: `ctr-${i}`, ifname: 'eth0' });
      }),
    );
    peer.push(
      await timed(count, async (dataDir) => {
        const net = config(dataDir);
        for (let i = 0; i < count; i++) await execCni('host-local', 'ADD', net, { containerId: `ctr-${i}`, netns: '/proc/self/ns/net' });
      }),
    );
  }
  const o = median(ours);
  const p = median(peer);
  log(`host-local allocations/s: switchyard ${o.toFixed(0)} ops/s, CNI host-local binary ${p.toFixed(0)} ops/s, ratio ${(o / p).toFixed(1)}x (${count} allocations from ${SUBNET}, median of ${runs})`);
  return [{ name: 'host-local allocations/s', ours: o, peer: p, unit: 'ops/s', ratio: o / p }];
}
