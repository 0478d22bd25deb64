import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { HOST_NS, stripPrefix, type SandboxRecord } from '@switchyard/core';
import { NftablesFirewall } from '@switchyard/firewall-nftables';
import { createLabSwitchyard, execIn, kernelSnapshot, ping, requireLab, settledSnapshot, uniqueName, type LabSwitchyard } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import bridgeDriver from '../index.js';

// Soak: a bounded loop of connect/disconnect cycles on the real kernel, through the production path
// (FileStore with fsync, the default netlink executor, host-local IPAM on disk, per-sandbox files),
// that must end with the kernel, the store and every file in the state dir exactly as they began (the
// files as after a short warm-up, see below), no file descriptor more, and resident memory flat: RSS
// after the last cycle within 10% of RSS after cycle 200. CI (the kernel phase of scripts/test.mjs)
// runs it shortened (SWY_SOAK_CYCLES, default 400, ~12 s); `pnpm soak` runs 2000 cycles.
//
// One cycle connects a sandbox to the network and disconnects it again; the cycles take the sandboxes in
// turn, so each namespace, hosts file and host-local owner comes and goes many times.

const CYCLES = cyclesFromEnv(process.env.SWY_SOAK_CYCLES, 400);
/** The RSS baseline is taken once this many cycles have warmed the process up (JIT, heap sizing, caches). */
const BASELINE_CYCLE = 200;
const MAX_RSS_GROWTH = 1.1;
const SANDBOXES = 3;
/** The kernel executor: the default (netlink), or iproute2 with SWY_SOAK_EXECUTOR=iproute2, to tell their memory apart. */
const EXECUTOR = executorFromEnv(process.env.SWY_SOAK_EXECUTOR);
const SUBNET = '10.197.0.0/24';
const GATEWAY = '10.197.0.1';

function cyclesFromEnv(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SWY_SOAK_CYCLES must be a positive integer, not ${JSON.stringify(value)}`);
  return n;
}

/**
 * A full collection when one is available: `gc` when node runs with --expose-gc (`pnpm soak` does);
 * otherwise (CI's kernel phase starts node without it, and jest's test context never sees it anyway)
 * the same function obtained by turning the V8 flag on at run time and reading it from a fresh context.
 */
function findGc(): { gc: () => void; source: string } {
  const exposed = globalThis.gc;
  if (typeof exposed === 'function') return { gc: () => exposed(), source: '--expose-gc' };
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  if (typeof gc !== 'function') throw new Error('soak: could not obtain a gc function to measure resident memory');
  return { gc: gc as () => void, source: 'v8.setFlagsFromString' };
}

function executorFromEnv(value: string | undefined): 'netlink' | 'iproute2' {
  if (value === undefined || value === '' || value === 'netlink') return 'netlink';
  if (value === 'iproute2') return value;
  throw new Error(`SWY_SOAK_EXECUTOR must be netlink or iproute2, not ${JSON.stringify(value)}`);
}

/** Each connect publishes a port (host 18080 -> 80), so the firewall is in every cycle. */
const PUBLISH = { portBindings: [{ protocol: 'tcp' as const, containerPort: 80, hostPort: 18080 }] };

/** Switchyard's nftables table as text (no handles): what each cycle must leave as it found it. */
async function firewallTable(): Promise<string> {
  return (await execIn(HOST_NS, ['nft', 'list', 'table', 'inet', 'switchyard'])).stdout;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident set size (and, for the report, the JS heap in use) after full collections: the medians of five samples, each after a gc and a short pause. */
async function settledMemory(gc: () => void): Promise<{ rss: number; heap: number }> {
  const rss: number[] = [];
  const heap: number[] = [];
  for (let i = 0; i < 5; i++) {
    gc();
    await pause(20);
    const m = process.memoryUsage();
    rss.push(m.rss);
    heap.push(m.heapUsed);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[2]!;
  return { rss: median(rss), heap: median(heap) };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** host-local's allocation cursor: the last address handed out, so the next allocation goes on from there (as CNI's host-local does). */
const CURSOR = /^last_reserved_ip\.\d+$/;

/**
 * Every entry under the state dir (store documents of every collection, lock files, host-local's data
 * dir, the sandboxes' hosts and resolv.conf): relative path -> type, mode and content.
 * Normalised, because it legitimately changes: the content of host-local's cursor, which every connect
 * moves (its presence and mode are still compared; `cursors` reads its content on its own).
 */
function stateFiles(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const mode = (st.mode & 0o7777).toString(8);
      const key = relative(root, path);
      if (st.isDirectory()) {
        out[key] = `dir ${mode}`;
        walk(path);
      } else if (st.isSymbolicLink()) {
        out[key] = `symlink ${mode} -> ${readlinkSync(path)}`;
      } else {
        out[key] = `file ${mode} ${CURSOR.test(name) ? '<allocation cursor>' : readFileSync(path, 'utf8')}`;
      }
    }
  };
  walk(root);
  return out;
}

/** The store's documents, collection by collection: the core ones and every plugin collection the FileStore keeps. */
async function storeDocuments(sy: LabSwitchyard): Promise<Record<string, unknown[]>> {
  const plugins = readdirSync(sy.options.stateDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.startsWith('plugin-'))
    .map((d) => `plugin:${d.name.slice('plugin-'.length)}` as const);
  const docs: Record<string, unknown[]> = {};
  for (const c of ['networks', 'sandboxes', 'endpoints', 'intents', 'meta', ...plugins] as const) {
    const list = await sy.store.list<{ id?: string; name?: string }>(c);
    docs[c] = list.sort((a, b) => `${a.name ?? a.id}`.localeCompare(`${b.name ?? b.id}`));
  }
  return docs;
}

/** host-local's allocation cursors in the network's directory: file name -> the address it holds. */
function cursors(root: string, network: string): Record<string, string> {
  const dir = join(root, 'ipam', 'host-local', network);
  const names = readdirSync(dir).filter((n) => CURSOR.test(n));
  return Object.fromEntries(names.map((n) => [n, readFileSync(join(dir, n), 'utf8').trim()]));
}

const openFds = () => readdirSync('/proc/self/fd').length;

describe('soak: connect/disconnect cycles on the real kernel', () => {
  let sy: LabSwitchyard;
  const network = uniqueName('soak');
  const bridge = uniqueName('swysk');
  const sandboxes = Array.from({ length: SANDBOXES }, () => uniqueName('soak'));

  beforeAll(async () => {
    requireLab();
    // With the nftables firewall: the network masquerades and every connect publishes a port.
    sy = await createLabSwitchyard({ executor: EXECUTOR, drivers: [bridgeDriver], ipams: [hostLocal], firewall: new NftablesFirewall() });
    await sy.controller.createNetwork({ name: network, driver: 'bridge', options: { bridge, ipMasq: true }, ipam: { ipv4: [{ subnet: SUBNET }] } });
    for (const name of sandboxes) await sy.controller.createSandbox({ name });
  });

  afterAll(() => sy?.dispose());

  it(`${CYCLES} cycles leave the kernel, the store and the state files as they began, and RSS flat`, async () => {
    const { gc, source: gcSource } = findGc();
    const kernelBefore = await kernelSnapshot('all');
    const firewallBefore = await firewallTable();
    const docsBefore = await storeDocuments(sy);
    const pristineFiles = stateFiles(sy.options.stateDir);
    expect(docsBefore.intents).toEqual([]);
    expect(docsBefore.sandboxes!.map((s) => (s as SandboxRecord).endpoints)).toEqual(sandboxes.map(() => []));
    // The state dir holds what it should, so comparing it proves something: the network, its host-local
    // directory, each sandbox's namespace and files.
    const sandboxIds = (docsBefore.sandboxes as SandboxRecord[]).map((s) => s.id);
    expect(Object.keys(pristineFiles)).toEqual(
      expect.arrayContaining([`networks/${network}.json`, `ipam/host-local/${network}/lock`, ...sandboxes.map((s) => `sandboxes/${s}.json`), ...sandboxIds.map((id) => `run/sandboxes/${id}/hosts`)]),
    );
    expect(kernelBefore.netns).toEqual(expect.arrayContaining(sandboxes));
    expect(kernelBefore.namespaces.host!.links.map((l) => l.name)).toContain(bridge);

    // Warm-up: one cycle per sandbox, after which the state files are the baseline. A first connect
    // creates files that then stay for good, by design: host-local's allocation cursor and lock files
    // (the store's per-object locks), and the store's `meta` directory, where the host-port index lives
    // while a port is published (the index itself goes with the last port). The warm-up may add only those and change nothing else; the
    // loop must then add none, so a file per cycle (or per sandbox) would show. The kernel and the
    // store's documents have no such excuse: they are compared with their state before the warm-up.
    for (const s of sandboxes) {
      await sy.controller.connect(network, s, PUBLISH);
      await sy.controller.disconnect(network, s);
    }
    // Disconnects leave their links to a batch delete: the comparisons are of the state at rest.
    await sy.settle();
    const filesBefore = stateFiles(sy.options.stateDir);
    const firstUse = Object.keys(filesBefore).filter((k) => !(k in pristineFiles));
    expect(Object.keys(pristineFiles).filter((k) => filesBefore[k] !== pristineFiles[k])).toEqual([]);
    expect(firstUse.filter((k) => !(CURSOR.test(basename(k)) || basename(k) === 'lock' || k === 'locks' || k.startsWith('locks/') || k === 'meta'))).toEqual([]);
    const fdsBefore = openFds();

    // Memory is sampled every BASELINE_CYCLE cycles (the series is printed, to show a trend); the first
    // sample is the baseline, the one after the last cycle is held against it.
    const series: Array<{ cycle: number; rss: number; heap: number }> = [];
    const started = performance.now();
    let paused = 0;
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const s = sandboxes[cycle % SANDBOXES]!;
      await sy.controller.connect(network, s, PUBLISH);
      await sy.controller.disconnect(network, s);
      if (cycle % BASELINE_CYCLE === 0 || cycle === CYCLES) {
        const t = performance.now();
        series.push({ cycle, ...(await settledMemory(gc)) });
        paused += performance.now() - t;
      }
    }
    const loopMs = performance.now() - started - paused;
    const atBaseline = series.find((m) => m.cycle === BASELINE_CYCLE);
    const atEnd = series[series.length - 1]!;

    // Exactly as it began. The kernel destroys a deleted veth asynchronously, hence the settled snapshot.
    await sy.settle();
    const kernelAfter = await settledSnapshot(kernelBefore, 'all');
    const docsAfter = await storeDocuments(sy);
    const filesAfter = stateFiles(sy.options.stateDir);
    const fdsAfter = openFds();
    const firewallAfter = await firewallTable();
    const same = (what: string, a: unknown, b: unknown) => `${what} ${isDeepStrictEqual(a, b) ? 'equal' : 'DIFFERENT'}`;

    const ratio = atBaseline === undefined ? undefined : atEnd.rss / atBaseline.rss;
    const figures = [
      `soak: ${CYCLES} connect/disconnect cycles over ${SANDBOXES} sandboxes in ${(loopMs / 1000).toFixed(1)} s`,
      `${(loopMs / CYCLES).toFixed(2)} ms/cycle`,
      atBaseline === undefined
        ? `RSS at end ${mib(atEnd.rss)} (fewer than ${BASELINE_CYCLE} cycles: no RSS comparison)`
        : `RSS at cycle ${BASELINE_CYCLE} ${mib(atBaseline.rss)}, at cycle ${CYCLES} ${mib(atEnd.rss)}, ratio ${ratio!.toFixed(3)} (limit ${MAX_RSS_GROWTH})`,
      `RSS/heap used by cycle: ${series.map((m) => `${m.cycle} ${mib(m.rss)}/${mib(m.heap)}`).join(', ')}`,
      `executor ${EXECUTOR}, gc via ${gcSource}`,
      `created by the warm-up (${SANDBOXES} cycles before the loop): ${firstUse.join(', ') || 'nothing'}`,
      `after the loop: ${[same('kernel', kernelAfter, kernelBefore), same('store', docsAfter, docsBefore), same('state files', filesAfter, filesBefore), same('open fds', fdsAfter, fdsBefore), same('nftables table', firewallAfter, firewallBefore)].join(', ')}`,
    ];
    console.log(figures.join('\n'));

    expect(kernelAfter).toEqual(kernelBefore);
    expect(docsAfter).toEqual(docsBefore);
    expect(firewallAfter).toEqual(firewallBefore);
    expect(filesAfter).toEqual(filesBefore);
    expect(cursors(sy.options.stateDir, network)).toEqual({ 'last_reserved_ip.0': expect.stringMatching(/^10\.197\.0\.\d+$/) });
    expect(fdsAfter).toBe(fdsBefore);
    // Flat memory; a run shorter than the baseline has nothing to compare.
    expect(ratio ?? 0).toBeLessThanOrEqual(MAX_RSS_GROWTH);

    // Still works after the loop: a connect gives a sandbox an up interface carrying its address, which
    // reaches the bridge's gateway; disconnecting it again returns everything to the start.
    const probe = await sy.controller.inspectSandbox(sandboxes[0]!);
    const ep = await sy.controller.connect(network, sandboxes[0]!);
    const inside = await execIn(probe.netns, ['ip', '-br', 'addr', 'show', 'dev', ep.ifname]);
    expect(inside.stdout).toContain(ep.ipv4);
    expect(inside.stdout).toMatch(/\bUP\b/);
    expect(await ping(probe.netns, GATEWAY)).toBe(true);
    expect(stripPrefix(ep.ipv4!)).not.toBe(GATEWAY);
    await sy.controller.disconnect(network, sandboxes[0]!);
    await sy.settle();
    expect(await settledSnapshot(kernelBefore, 'all')).toEqual(kernelBefore);
    expect(await storeDocuments(sy)).toEqual(docsBefore);
    expect(stateFiles(sy.options.stateDir)).toEqual(filesBefore);
  });
});
