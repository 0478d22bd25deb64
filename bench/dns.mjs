// Switchyard's DNS responder against aardvark-dns (Debian's 1.4, configured the way netavark does: one
// file per network, gateway on the first line, a line per container, SIGHUP after a change), in one run:
//   - latency of one query at a time, alternating ours and aardvark per query: local names (A of a
//     sandbox's alias) and forwarded ones (a name only the upstream knows);
//   - throughput with 16 queries in flight, alternating 0.5 s phases;
//   - the time from connect returning (ours) or from netavark's SIGHUP (aardvark) to the name resolving.
// Both answer the same sandboxes: each sandbox joins two bridge networks, ours with DNS on its gateway and
// one whose gateway aardvark listens on. The upstream is a fake server in an "outside" namespace.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchDir } from './dirs.mjs';
import { loadLibrary } from './library.mjs';
import { percentile, summary } from './stats.mjs';

const root = new URL('..', import.meta.url).pathname;
const AARDVARK = '/usr/lib/podman/aardvark-dns';
const OUTSIDE = 'swydnsbench-out';
const UPSTREAM = '10.199.0.2';
const OURS = '10.98.0.1';
const THEIRS = '10.98.1.1';
const dnsPacket = createRequire(join(root, 'packages/dns/package.json')).resolve('dns-packet');

// The fake upstream: every *.example.test is 192.0.2.1.
const UPSTREAM_SERVER = `
const packet = require(${JSON.stringify(dnsPacket)});
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => {
  const q = packet.decode(m);
  const name = q.questions[0].name;
  const ok = /\\.example\\.test$/i.test(name) && q.questions[0].type === 'A';
  s.send(packet.encode({ id: q.id, type: 'response', flags: packet.RECURSION_AVAILABLE | (ok ? 0 : 3), questions: q.questions, answers: ok ? [{ type: 'A', name, ttl: 60, data: '192.0.2.1' }] : [] }), r.port, r.address);
});
s.bind(53, ${JSON.stringify(UPSTREAM)}, () => process.stdout.write('ready\\n'));
`;

// The client, inside a sandbox: JSON commands on stdin, one JSON answer line each.
//   {op:'lat', rounds, names:[...]}            alternating ours/theirs per query; ms per query per side
//   {op:'qps', ms, inflight, names:[...]}      alternating phases; answers per second per side
//   {op:'poll', server, name}                   queries every 0.2 ms until an answer with an address (20 ms per query at most)
const CLIENT = `
const packet = require(${JSON.stringify(dnsPacket)});
const dgram = require('node:dgram');
const sock = dgram.createSocket('udp4');
const waiting = new Map();
let nextId = 1;
sock.on('message', (m) => { const id = m.readUInt16BE(0); const w = waiting.get(id); if (w) { waiting.delete(id); w(m); } });
function ask(server, name, timeoutMs = 2000) {
  const id = nextId = (nextId % 65535) + 1;
  return new Promise((resolve) => {
    const timer = setTimeout(() => { waiting.delete(id); resolve(undefined); }, timeoutMs);
    waiting.set(id, (m) => { clearTimeout(timer); resolve(packet.decode(m)); });
    sock.send(packet.encode({ id, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), 53, server);
  });
}
const SERVERS = { ours: ${JSON.stringify(OURS)}, theirs: ${JSON.stringify(THEIRS)} };
async function lat({ rounds, names }) {
  const out = { ours: [], theirs: [], failed: { ours: 0, theirs: 0 } };
  for (let i = 0; i < rounds; i++) for (const side of i % 2 ? ['theirs', 'ours'] : ['ours', 'theirs']) {
    const t = process.hrtime.bigint();
    const a = await ask(SERVERS[side], names[i % names.length]);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (a && a.answers.length > 0) out[side].push(ms); else out.failed[side]++;
  }
  return out;
}
async function qps({ ms, inflight, phases, names }) {
  const out = { ours: [], theirs: [] };
  for (let p = 0; p < phases; p++) for (const side of p % 2 ? ['theirs', 'ours'] : ['ours', 'theirs']) {
    let done = 0; let i = 0; const end = performance.now() + ms;
    const worker = async () => { while (performance.now() < end) { const a = await ask(SERVERS[side], names[i++ % names.length]); if (a && a.answers.length > 0) done++; } };
    const t = performance.now();
    await Promise.all(Array.from({ length: inflight }, worker));
    out[side].push(done / ((performance.now() - t) / 1000));
  }
  return out;
}
// A query lost while a server reloads is asked again after 20 ms (not a resolver's seconds): this measures the server.
async function poll({ server, name }) {
  for (;;) { const a = await ask(server, name, 20); if (a && a.answers.length > 0) return { ok: true }; await new Promise((r) => setTimeout(r, 0.2)); }
}
sock.bind(0, () => {
  process.stdout.write('ready\\n');
  let buf = '';
  process.stdin.on('data', async (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\\n')) >= 0) {
      const cmd = JSON.parse(buf.slice(0, nl)); buf = buf.slice(nl + 1);
      const res = cmd.op === 'lat' ? await lat(cmd) : cmd.op === 'qps' ? await qps(cmd) : await poll(cmd);
      process.stdout.write(JSON.stringify(res) + '\\n');
    }
  });
});
`;

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A child speaking JSON lines: `send(cmd)` resolves with its next answer line. */
function lineChild(args) {
  const child = spawn(args[0], args.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const lines = [];
  let wake = () => undefined;
  child.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    wake();
  });
  const next = async () => {
    while (lines.length === 0) await new Promise((r) => (wake = r));
    return lines.shift();
  };
  return {
    child,
    next,
    send: async (cmd) => {
      child.stdin.write(JSON.stringify(cmd) + '\n');
      return JSON.parse(await next());
    },
  };
}

export default async function bench({ log, quick }) {
  if (spawnSync(AARDVARK, ['--version']).status !== 0) throw new Error(`dns: ${AARDVARK} is missing (apt-get install aardvark-dns; scripts/setup.sh does)`);
  const { open } = await loadLibrary();
  const { createDnsService } = await import(join(root, 'packages/dns/dist/index.js'));
  const stateDir = benchDir('swy-dnsbench-');
  const aardDir = benchDir('aardvark-dnsbench-');
  const sandboxes = quick ? 10 : 50;
  const names = Array.from({ length: sandboxes }, (_, i) => `svc${i}`);
  const forwarded = Array.from({ length: sandboxes }, (_, i) => `f${i}.example.test`);
  const rounds = quick ? 200 : 1000;
  let upstream;
  let client;
  let sy;
  try {
    sh('ip', ['netns', 'add', OUTSIDE]);
    sh('ip', ['link', 'add', 'swydnsbup0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUTSIDE]);
    sh('ip', ['addr', 'add', '10.199.0.1/30', 'dev', 'swydnsbup0']);
    sh('ip', ['link', 'set', 'swydnsbup0', 'up']);
    sh('ip', ['-n', OUTSIDE, 'addr', 'add', `${UPSTREAM}/30`, 'dev', 'eth0']);
    sh('ip', ['-n', OUTSIDE, 'link', 'set', 'eth0', 'up']);
    upstream = lineChild(['ip', 'netns', 'exec', OUTSIDE, process.execPath, '-e', UPSTREAM_SERVER]);
    await upstream.next();

    sy = await open(stateDir, { dns: createDnsService({ stateDir, upstreams: [UPSTREAM] }) });
    const c = sy.controller;
    await c.createNetwork({ name: 'dnsours', driver: 'bridge', options: { bridge: 'swydnso0' }, ipam: { ipv4: [{ subnet: '10.98.0.0/24' }] } });
    await c.createNetwork({ name: 'dnstheirs', driver: 'bridge', dns: false, options: { bridge: 'swydnst0' }, ipam: { ipv4: [{ subnet: '10.98.1.0/24' }] } });
    // aardvark's network file, as netavark writes it: gateway and the network's DNS servers, then one line per container.
    mkdirSync(aardDir, { recursive: true });
    const aardFile = join(aardDir, 'dnstheirs');
    writeFileSync(aardFile, `${THEIRS} ${UPSTREAM}\n`);
    const aardLine = async (name, alias) => {
      const sb = await c.inspectSandbox(name);
      const ip = sb.endpoints.find((e) => e.networkName === 'dnstheirs').ipv4.split('/')[0];
      appendFileSync(aardFile, `${sb.id} ${ip}  ${name},${alias}\n`);
    };
    for (let i = 0; i < sandboxes; i++) {
      await c.createSandbox({ name: `dnsb${i}` });
      await c.connect('dnsours', `dnsb${i}`, { aliases: [names[i]] });
      await c.connect('dnstheirs', `dnsb${i}`, { aliases: [names[i]] });
      await aardLine(`dnsb${i}`, names[i]);
    }
    sh(AARDVARK, ['--config', aardDir, '-p', '53', 'run']);
    const aardPid = () => Number(readFileSync(join(aardDir, 'aardvark.pid'), 'utf8').trim());

    client = lineChild(['ip', 'netns', 'exec', 'dnsb0', process.execPath, '-e', CLIENT]);
    await client.next();
    // Warm-up: both answer, both forward.
    await client.send({ op: 'lat', rounds: 50, names });
    await client.send({ op: 'lat', rounds: 20, names: forwarded });

    log(`dns: ${rounds} queries one at a time, ours / aardvark-dns alternating, local names then forwarded…`);
    const local = await client.send({ op: 'lat', rounds, names });
    const fwd = await client.send({ op: 'lat', rounds: Math.round(rounds / 2), names: forwarded });
    for (const [what, r] of [
      ['local', local],
      ['forwarded', fwd],
    ]) {
      if (r.failed.ours || r.failed.theirs) log(`dns: ${what}: ${r.failed.ours} of ours and ${r.failed.theirs} of aardvark's queries got no answer`);
    }
    log('dns: 16 queries in flight, alternating 0.5 s phases…');
    const thr = await client.send({ op: 'qps', ms: 500, inflight: 16, phases: quick ? 2 : 6, names });

    log('dns: time from connect (ours) / netavark SIGHUP (aardvark) to the name resolving…');
    const fresh = { ours: [], theirs: [] };
    for (let i = 0; i < (quick ? 5 : 20); i++) {
      const name = `fresh${i}`;
      await c.createSandbox({ name });
      await c.connect('dnstheirs', name, { aliases: [`new${i}`] });
      // Ours: the connect that makes the name, then the first query that sees it.
      let t = performance.now();
      await c.connect('dnsours', name, { aliases: [`new${i}`] });
      const connectMs = performance.now() - t;
      t = performance.now();
      await client.send({ op: 'poll', server: OURS, name: `new${i}` });
      fresh.ours.push(performance.now() - t);
      // aardvark: netavark appends the line and sends SIGHUP; from then until it answers.
      await aardLine(name, `new${i}`);
      t = performance.now();
      process.kill(aardPid(), 'SIGHUP');
      await client.send({ op: 'poll', server: THEIRS, name: `new${i}` });
      fresh.theirs.push(performance.now() - t);
      if (i === 0) log(`dns: first fresh connect took ${connectMs.toFixed(2)} ms`);
    }

    const s = (xs) => summary(xs);
    const row = (name, ours, theirs, unit = 'ms') => ({ name, ours: s(ours).median, peer: s(theirs).median, unit, lowerIsBetter: true, p95: { ours: percentile(ours, 95), peer: percentile(theirs, 95) } });
    const rows = [
      row('DNS local name, p50 (peer: aardvark-dns)', local.ours, local.theirs),
      { name: 'DNS local name, p99 (peer: aardvark-dns)', ours: percentile(local.ours, 99), peer: percentile(local.theirs, 99), unit: 'ms', lowerIsBetter: true },
      row('DNS forwarded name, p50 (peer: aardvark-dns)', fwd.ours, fwd.theirs),
      { name: 'DNS forwarded name, p99 (peer: aardvark-dns)', ours: percentile(fwd.ours, 99), peer: percentile(fwd.theirs, 99), unit: 'ms', lowerIsBetter: true },
      { name: 'DNS local answers/s, 16 in flight (peer: aardvark-dns)', ours: s(thr.ours).median, peer: s(thr.theirs).median, unit: '/s', lowerIsBetter: false },
      row('DNS name resolvable after connect / SIGHUP (peer: aardvark-dns)', fresh.ours, fresh.theirs),
    ];
    return { rows };
  } finally {
    client?.child.kill('SIGKILL');
    upstream?.child.kill('SIGKILL');
    try {
      process.kill(Number(readFileSync(join(aardDir, 'aardvark.pid'), 'utf8').trim()), 'SIGTERM');
    } catch {
      // Not started.
    }
    if (sy) {
      for (const sb of await sy.controller.listSandboxes()) await sy.controller.deleteSandbox(sb.name).catch(() => undefined);
      for (const n of ['dnsours', 'dnstheirs']) await sy.controller.deleteNetwork(n).catch(() => undefined);
      await sy.settle();
      await sy.close();
    }
    spawnSync('ip', ['link', 'del', 'swydnsbup0']);
    spawnSync('ip', ['netns', 'del', OUTSIDE]);
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(aardDir, { recursive: true, force: true });
  }
}
