import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HostLocalAllocator } from '../host-local-allocator.js';
import { HostLocalIpam } from '../host-local-ipam.js';
import { caught, expectCoded, tempDir } from './helpers.js';

const BINARY = '/usr/lib/cni/host-local';

interface CniRun {
  code: number;
  stdout: string;
}

/** Execs CNI's host-local the way a runtime does: CNI_* environment, network config on stdin. */
function runCni(command: 'ADD' | 'DEL', containerId: string, config: object, extra: { ifname?: string; args?: string } = {}): Promise<CniRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, [], {
      env: {
        CNI_COMMAND: command,
        CNI_CONTAINERID: containerId,
        CNI_NETNS: '/proc/self/ns/net',
        CNI_IFNAME: extra.ifname ?? 'eth0',
        CNI_PATH: '/usr/lib/cni',
        ...(extra.args ? { CNI_ARGS: extra.args } : {}),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout }));
    child.stdin.end(JSON.stringify(config));
  });
}

/** ADD that must succeed; returns the addresses (CIDR) the binary handed out. */
async function cniAdd(containerId: string, config: object, extra: { ifname?: string; args?: string } = {}): Promise<string[]> {
  const run = await runCni('ADD', containerId, config, extra);
  if (run.code !== 0) throw new Error(`host-local ADD ${containerId} failed (${run.code}): ${run.stdout}`);
  return (JSON.parse(run.stdout) as { ips: Array<{ address: string }> }).ips.map((ip) => ip.address);
}

function networkConfig(name: string, dataDir: string, ranges: object[][]) {
  return { cniVersion: '1.0.0', name, type: 'host-local', ipam: { type: 'host-local', ranges, dataDir } };
}

const owner = (id: string) => ({ id, ifname: 'eth0' });

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  if (!existsSync(BINARY)) {
    throw new Error(`CNI's host-local binary is missing at ${BINARY}: install it with \`apt-get install containernetworking-plugins\` (this interop test never skips).`);
  }
});
beforeEach(() => {
  dir = tempDir('swy-cni-interop-');
});
afterEach(() => dir.cleanup());

describe('interop with the CNI host-local binary on one dataDir', () => {
  it('never hands out an address twice when the binary and Switchyard allocate concurrently', async () => {
    const config = networkConfig('shared', dir.path, [[{ subnet: '10.60.0.0/26' }], [{ subnet: 'fd00:60::/120' }]]);
    const ours = HostLocalAllocator.fromCniConfig(config);
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => cniAdd(`cni-${i}`, config).then((ips) => ({ id: `cni-${i}`, ips }))),
      ...Array.from({ length: 20 }, (_, i) => ours.allocate(owner(`swy-${i}`)).then((a) => ({ id: `swy-${i}`, ips: a.map((x) => x.cidr) }))),
    ]);
    const v4 = results.map((r) => r.ips[0]);
    const v6 = results.map((r) => r.ips[1]);
    expect(new Set(v4).size).toBe(40);
    expect(new Set(v6).size).toBe(40);
    const netDir = join(dir.path, 'shared');
    for (const { id, ips } of results) {
      for (const cidr of ips) expect(readFileSync(join(netDir, cidr.split('/')[0]!), 'latin1')).toBe(`${id}\r\neth0`);
    }
    expect(readdirSync(netDir).filter((n) => n !== 'lock' && !n.startsWith('last_reserved_ip.'))).toHaveLength(80);
  });

  it("sees the binary's allocations, and the binary sees Switchyard's", async () => {
    const config = networkConfig('seen', dir.path, [[{ subnet: '10.61.0.0/24' }]]);
    const ours = HostLocalAllocator.fromCniConfig(config);
    const [mine] = await ours.allocate(owner('by-swy'));
    const [binaryAddress] = await cniAdd('by-cni', config);
    expect(binaryAddress).toBe('10.61.0.3/24');
    // Same owner asking Switchyard: the binary's record is its address.
    expect((await ours.allocate(owner('by-cni'))).map((a) => a.cidr)).toEqual([binaryAddress]);
    expectCoded(await caught(() => ours.allocate(owner('other'), [binaryAddress!.split('/')[0]!])), 'SWY_ERR_ADDRESS_IN_USE', 'by-cni');
    const refused = await runCni('ADD', 'wants-mine', config, { args: `IP=${mine!.address}` });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toContain(mine!.address);
    // Round-robin state is shared too: the binary continues after Switchyard's last reservation.
    expect(await cniAdd('next', config)).toEqual(['10.61.0.4/24']);
  });

  it("releases by owner what the binary allocated, and the binary's DEL releases what Switchyard allocated", async () => {
    const config = networkConfig('cninet', dir.path, [[{ subnet: '10.62.0.0/24' }]]);
    const ipam = new HostLocalIpam({ dataDir: join(dir.path, 'unused') });
    const pool = await ipam.requestPool({ networkId: 'n1', networkName: 'cninet', family: 4, ranges: [{ subnet: '10.62.0.0/24' }], exclude: [], options: { dataDir: dir.path } });
    const netDir = join(dir.path, 'cninet');

    const [fromBinary] = await cniAdd('cni-owned', config);
    expect(existsSync(join(netDir, fromBinary!.split('/')[0]!))).toBe(true);
    await ipam.releaseOwner(pool.poolId, owner('cni-owned'));
    expect(existsSync(join(netDir, fromBinary!.split('/')[0]!))).toBe(false);

    const fromUs = await ipam.requestAddress({ poolId: pool.poolId, owner: owner('swy-owned') });
    expect(existsSync(join(netDir, fromUs.address.split('/')[0]!))).toBe(true);
    expect((await runCni('DEL', 'swy-owned', config)).code).toBe(0);
    expect(existsSync(join(netDir, fromUs.address.split('/')[0]!))).toBe(false);
    expect(readdirSync(netDir).filter((n) => n.startsWith('10.'))).toEqual([]);
  });

  it("leaves the binary's allocations alone when Switchyard releases its pool (network rm on a shared dataDir), and the binary's DEL still works", async () => {
    const config = networkConfig('shared', dir.path, [[{ subnet: '10.63.0.0/24' }]]);
    const ipam = new HostLocalIpam({ dataDir: join(dir.path, 'unused') });
    const pool = await ipam.requestPool({ networkId: 'swy-net', networkName: 'shared', family: 4, ranges: [{ subnet: '10.63.0.0/24' }], exclude: [], options: { dataDir: dir.path } });
    const netDir = join(dir.path, 'shared');
    const [theirs] = await cniAdd('cni-container', config);
    const reserved = await ipam.requestAddress({ poolId: pool.poolId, owner: { id: 'swy-net', ifname: 'reserved0' } });
    await ipam.releasePool(pool.poolId);
    const left = readdirSync(netDir).filter((n) => n.startsWith('10.'));
    expect(left).toEqual([theirs!.split('/')[0]]);
    expect(left).not.toContain(reserved.address.split('/')[0]);
    expect((await runCni('DEL', 'cni-container', config)).code).toBe(0);
    expect(readdirSync(netDir).filter((n) => n.startsWith('10.'))).toEqual([]);
  });

  it("writes files byte-identical to the binary's (names, contents, last_reserved_ip)", async () => {
    const ranges = [[{ subnet: '10.63.0.0/24' }], [{ subnet: 'fd00:0:0:1::/64', rangeStart: 'fd00:0:0:1:0:1:0:1' }]];
    const binaryDir = join(dir.path, 'binary');
    const oursDir = join(dir.path, 'ours');
    const ours = HostLocalAllocator.fromCniConfig(networkConfig('same', oursDir, ranges));
    for (const id of ['c1', 'c2', 'c3']) {
      await cniAdd(id, networkConfig('same', binaryDir, ranges));
      await ours.allocate(owner(id));
    }
    const read = (root: string) =>
      Object.fromEntries(
        readdirSync(join(root, 'same'))
          .sort()
          .map((n) => [n, readFileSync(join(root, 'same', n)).toString('hex')]),
      );
    const theirs = read(binaryDir);
    expect(Object.keys(theirs)).toEqual(['10.63.0.2', '10.63.0.3', '10.63.0.4', 'fd00::1:0:1:0:1', 'fd00::1:0:1:0:2', 'fd00::1:0:1:0:3', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    expect(read(oursDir)).toEqual(theirs);
    // Newer CNI releases create address files 0600; Switchyard always does.
    expect(statSync(join(oursDir, 'same', '10.63.0.2')).mode & 0o777).toBe(0o600);
  });
});
