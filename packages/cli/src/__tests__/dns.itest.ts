import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { kernelSnapshot, settledSnapshot, waitUntil, type KernelSnapshot } from '@switchyard/core/testing';
import { CLI_DIR, cliLab } from './cli-lab.js';

// Names between sandboxes through the CLI on the real kernel (issue 13): a network's DNS responder on
// its gateway answers its sandboxes' names and aliases to the sandboxes on it (A, AAAA, PTR), not to
// others; anything else goes to an upstream server — here a fake one in an "outside" namespace, standing
// for the internet. Names come and go with connect and disconnect; a killed responder comes back with the
// next operation.
const lab = cliLab('swy-dns-');
const ok = (...args: string[]) => lab.ok(...args).stdout;
const OUTSIDE = 'swy-dns-outside';
const UPSTREAM = '10.197.0.2';
const dnsPacket = createRequire(join(CLI_DIR, '..', 'dns', 'package.json')).resolve('dns-packet');

// The fake upstream: example.test -> 192.0.2.7, every other name NXDOMAIN; prints each name it is asked.
const UPSTREAM_SERVER = `
const dgram = require('node:dgram');
const packet = require(${JSON.stringify(dnsPacket)});
const s = dgram.createSocket('udp4');
s.on('message', (msg, rinfo) => {
  const q = packet.decode(msg);
  const name = q.questions[0].name;
  process.stdout.write(name + '\\n');
  const known = name.toLowerCase() === 'example.test' && q.questions[0].type === 'A';
  s.send(packet.encode({ id: q.id, type: 'response', flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (known ? 0 : 3),
    questions: q.questions, answers: known ? [{ type: 'A', name, ttl: 60, data: '192.0.2.7' }] : [] }), rinfo.port, rinfo.address);
});
s.bind(53, ${JSON.stringify(UPSTREAM)}, () => process.stdout.write('ready\\n'));
`;

// A resolver in a sandbox: `node -e` in its namespace, asking its resolv.conf's first server.
const RESOLVE = `
const { Resolver } = require('node:dns').promises;
const [server] = require('node:fs').readFileSync(process.argv[1], 'utf8').match(/^nameserver (\\S+)/m).slice(1);
const r = new Resolver({ timeout: 3000, tries: 1 });
r.setServers([server]);
const [how, what] = process.argv.slice(2);
const ask = how === 'A' ? r.resolve4(what) : how === 'AAAA' ? r.resolve6(what) : r.reverse(what);
ask.then((a) => console.log(JSON.stringify(a.sort())), (e) => console.log(e.code));
`;

let upstream: ChildProcess;
let upstreamOut = '';
let initial: KernelSnapshot;

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

beforeAll(async () => {
  sh('ip', ['netns', 'add', OUTSIDE]);
  sh('ip', ['link', 'add', 'swydnsup0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUTSIDE]);
  sh('ip', ['addr', 'add', '10.197.0.1/30', 'dev', 'swydnsup0']);
  sh('ip', ['link', 'set', 'swydnsup0', 'up']);
  sh('ip', ['-n', OUTSIDE, 'addr', 'add', `${UPSTREAM}/30`, 'dev', 'eth0']);
  sh('ip', ['-n', OUTSIDE, 'link', 'set', 'eth0', 'up']);
  sh('ip', ['-n', OUTSIDE, 'link', 'set', 'lo', 'up']);
  upstream = spawn('ip', ['netns', 'exec', OUTSIDE, process.execPath, '-e', UPSTREAM_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  upstream.stdout?.on('data', (d: Buffer) => (upstreamOut += d.toString()));
  await waitUntil(() => upstreamOut.includes('ready'), 'the fake upstream server');
});

afterAll(() => {
  upstream.kill('SIGKILL');
  spawnSync('ip', ['link', 'del', 'swydnsup0']);
  spawnSync('ip', ['netns', 'del', OUTSIDE]);
});

beforeEach(async () => {
  lab.env.SWITCHYARD_DNS_UPSTREAM = UPSTREAM;
  initial = await kernelSnapshot('all');
});

afterEach(async () => {
  // eslint-disable-next-line jest/no-standalone-expect
  expect(await settledSnapshot(initial, 'all')).toEqual(initial);
});

/** What `what` resolves to from inside `sandbox` (its resolv.conf's first name server): sorted answers, or the error code. */
function resolve(sandbox: string, how: 'A' | 'AAAA' | 'PTR', what: string): unknown {
  const resolvConf = join(JSON.parse(ok('sandbox', 'inspect', sandbox, '--json')).sandbox.filesDir as string, 'resolv.conf');
  const out = sh('ip', ['netns', 'exec', sandbox, process.execPath, '-e', RESOLVE, resolvConf, how, what]).trim();
  return out.startsWith('[') ? JSON.parse(out) : out;
}
const responder = () => JSON.parse(readFileSync(join(lab.env.SWITCHYARD_STATE_DIR as string, 'dns', 'responder.json'), 'utf8')) as { pid: number };
const alive = (pid: number) => spawnSync('kill', ['-0', String(pid)]).status === 0;

test('sandboxes resolve the names and aliases of their network (A, AAAA, PTR), not another network, and the rest upstream', async () => {
  ok('network', 'create', 'dna', '--subnet', '10.196.1.0/24', '--subnet6', 'fd00:196:1::/64');
  ok('network', 'create', 'dnb', '--subnet', '10.196.2.0/24');
  for (const s of ['ds1', 'ds2', 'ds3', 'ds4']) ok('sandbox', 'create', s);
  ok('connect', 'dna', 'ds1', '--ip', '10.196.1.11');
  ok('connect', 'dna', 'ds2', '--ip', '10.196.1.12', '--ip6', 'fd00:196:1::12', '--alias', 'db');
  ok('connect', 'dnb', 'ds3', '--ip', '10.196.2.13');
  ok('connect', 'dna', 'ds4', '--ip', '10.196.1.14');
  ok('connect', 'dnb', 'ds4', '--ip', '10.196.2.14');

  // The network's gateway is each sandbox's name server.
  expect(readFileSync(join(JSON.parse(ok('sandbox', 'inspect', 'ds1', '--json')).sandbox.filesDir, 'resolv.conf'), 'utf8')).toMatch(/^nameserver 10\.196\.1\.1\n/);
  expect(resolve('ds1', 'A', 'ds2')).toEqual(['10.196.1.12']);
  expect(resolve('ds1', 'A', 'DB')).toEqual(['10.196.1.12']);
  expect(resolve('ds1', 'AAAA', 'db')).toEqual(['fd00:196:1::12']);
  expect(resolve('ds1', 'PTR', '10.196.1.12')).toEqual(['ds2']);
  // A name on another network is not answered: it goes upstream, which has never heard of it.
  expect(resolve('ds1', 'A', 'ds3')).toBe('ENOTFOUND');
  // (the upstream's output is read by this process's event loop, which spawnSync held up)
  await waitUntil(() => /^ds3\b/m.test(upstreamOut), 'the upstream to have been asked for ds3');
  // A sandbox on both networks resolves both.
  expect(resolve('ds4', 'A', 'ds2')).toEqual(['10.196.1.12']);
  expect(resolve('ds4', 'A', 'ds3')).toEqual(['10.196.2.13']);
  // Outside names are forwarded.
  expect(resolve('ds1', 'A', 'example.test')).toEqual(['192.0.2.7']);
  // The command `run` starts reads the same resolv.conf (getent goes through the libc resolver).
  const getent = lab.cli(['run', '--sandbox', 'ds1', '--', 'getent', 'hosts', 'db']);
  expect(getent.stdout).toMatch(/^(10\.196\.1\.12|fd00:196:1::12)\s+db/);

  for (const s of ['ds1', 'ds2', 'ds3', 'ds4']) ok('sandbox', 'rm', s);
  ok('network', 'rm', 'dna', 'dnb');
});

test('a connected sandbox resolves as soon as connect returns and is gone after disconnect; a killed responder is back with the next operation', async () => {
  ok('network', 'create', 'dnc', '--subnet', '10.196.3.0/24');
  ok('sandbox', 'create', 'dc1');
  ok('sandbox', 'create', 'dc2');
  ok('connect', 'dnc', 'dc1', '--ip', '10.196.3.11');
  ok('connect', 'dnc', 'dc2', '--ip', '10.196.3.12', '--alias', 'fresh');
  expect(resolve('dc1', 'A', 'fresh')).toEqual(['10.196.3.12']);
  ok('disconnect', 'dnc', 'dc2');
  expect(resolve('dc1', 'A', 'fresh')).toBe('ENOTFOUND');

  const { pid } = responder();
  process.kill(pid, 'SIGKILL');
  await waitUntil(() => !alive(pid), 'the responder to die');
  expect(resolve('dc1', 'A', 'dc1')).not.toEqual(['10.196.3.11']);
  // Any operation that opens Switchyard for a change brings it back, with the same records.
  ok('sandbox', 'create', 'dc3');
  expect(responder().pid).not.toBe(pid);
  expect(resolve('dc1', 'A', 'dc1')).toEqual(['10.196.3.11']);
  expect(ok('doctor')).toMatch(/dns.*running/i);

  for (const s of ['dc1', 'dc2', 'dc3']) ok('sandbox', 'rm', s);
  ok('network', 'rm', 'dnc');
  // With no network left to serve, the responder is gone.
  await waitUntil(() => !existsSync(join(lab.env.SWITCHYARD_STATE_DIR as string, 'dns', 'responder.json')), 'the responder to exit');
});

test('a veth (point-to-point) network answers on the gateway every host end carries; macvlan refuses DNS', () => {
  ok('network', 'create', 'dnv', '--driver', 'veth', '--subnet', '10.196.4.0/24');
  ok('sandbox', 'create', 'dv1');
  ok('sandbox', 'create', 'dv2');
  ok('connect', 'dnv', 'dv1', '--ip', '10.196.4.11');
  ok('connect', 'dnv', 'dv2', '--ip', '10.196.4.12', '--alias', 'peer');
  expect(resolve('dv1', 'A', 'peer')).toEqual(['10.196.4.12']);
  expect(resolve('dv2', 'PTR', '10.196.4.11')).toEqual(['dv1']);
  // The first endpoint leaving takes its host end (and one copy of the gateway) along; the other still resolves.
  ok('disconnect', 'dnv', 'dv1');
  expect(resolve('dv2', 'A', 'peer')).toEqual(['10.196.4.12']);
  for (const s of ['dv1', 'dv2']) ok('sandbox', 'rm', s);
  ok('network', 'rm', 'dnv');

  const refused = lab.cli(['network', 'create', 'dnm', '--driver', 'macvlan', '-o', 'master=swydnsup0', '--subnet', '10.196.5.0/24', '--dns']);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain('SWY_ERR_DNS_UNSUPPORTED');
  expect(ok('network', 'ls', '--format', '{{.Name}}')).not.toContain('dnm');
});
