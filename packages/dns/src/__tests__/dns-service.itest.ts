import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkRecord } from '@switchyard/core';
import { outcomeOf, requireLab, waitUntil } from '@switchyard/core/testing';
import { createDnsService, LOG_ROTATE_BYTES } from '../dns-service.js';
import { readResponderFile } from '../responder-file.js';
import { dataOf, FakeUpstream, queryPacket, udpQuery } from './dns-lab.js';
import { StateDocs } from './state-docs.js';

// The manager starts the real bin, which runs dist/main.js: build first (pnpm run build).
const PORT = 15363;
const UPSTREAM = '127.0.40.1';

let docs: StateDocs;
let upstream: FakeUpstream;
let alpha: NetworkRecord;
const pids = new Set<number>();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const zombie = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z';
  } catch {
    return true;
  }
};
/** The responder processes of this state dir that run now. */
const responderPids = (): number[] => {
  try {
    return execFileSync('pgrep', ['-f', `switchyard-dns.js --state-dir ${docs.stateDir}`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number)
      .filter((pid) => alive(pid) && !zombie(pid));
  } catch {
    return [];
  }
};
const responderFile = () => join(docs.stateDir, 'dns', 'responder.json');
const logText = () => readFileSync(join(docs.stateDir, 'dns', 'responder.log'), 'utf8');
const pidNow = () => {
  const pid = readResponderFile(docs.stateDir)?.pid;
  if (pid === undefined) throw new Error('no responder.json');
  pids.add(pid);
  return pid;
};

beforeAll(async () => {
  requireLab();
  upstream = await new FakeUpstream(UPSTREAM, PORT).start();
  docs = new StateDocs();
  alpha = docs.network('alpha', { dns: true, gateway4: '127.0.30.1' });
  docs.sandbox('a1', [{ network: 'alpha', ipv4: '127.0.30.2/8' }]);
});

afterAll(async () => {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  await waitUntil(() => [...pids].every((pid) => !alive(pid)), 'every responder started to exit');
  await upstream?.stop();
  docs?.cleanup();
});

const service = () => createDnsService({ stateDir: docs.stateDir, port: PORT, upstreams: [`${UPSTREAM}:${PORT}`] });

test('serve() starts the responder and resolves once it listens; status() reports it', async () => {
  const dns = service();
  expect(await dns.status()).toEqual({ state: 'stopped', networks: [], upstreams: [`${UPSTREAM}:${PORT}`] });
  await dns.serve([alpha]);
  const pid = pidNow();
  expect(dataOf(await udpQuery('127.0.30.2', '127.0.30.1', PORT, queryPacket('a1', 'A')))).toEqual(['127.0.30.2']);
  expect(dataOf(await udpQuery('127.0.30.2', '127.0.30.1', PORT, queryPacket('up.example', 'A')))).toEqual(['192.0.2.1']);
  expect(await dns.status()).toEqual({ state: 'running', pid, networks: [{ name: 'alpha', listening: [`127.0.30.1:${PORT}`] }], upstreams: [`${UPSTREAM}:${PORT}`] });
  expect(JSON.parse(readFileSync(responderFile(), 'utf8'))).toEqual({
    pid,
    port: PORT,
    upstreams: [`${UPSTREAM}:${PORT}`],
    networks: [{ id: 'alpha-id', name: 'alpha', listening: [`127.0.30.1:${PORT}`] }],
  });
  // Networks without DNS or without a gateway are not its business.
  await dns.serve([
    { ...alpha, id: 'other', dns: false },
    { ...alpha, id: 'nogw', ipv4: undefined },
  ]);
});

test('a responder that already serves the networks is left alone: serve() neither signals nor waits', async () => {
  const dns = service();
  const pid = pidNow();
  const reloadsBefore = logText().split('reloading').length;
  const started = process.hrtime.bigint();
  for (let i = 0; i < 1000; i++) await dns.serve([alpha]);
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  // A call that waited would sleep 2 ms at least: 1000 of them could not fit in 2 s.
  expect(elapsedMs).toBeLessThan(2000);
  expect(pidNow()).toBe(pid);
  expect(logText().split('reloading').length).toBe(reloadsBefore);
});

test('a network it does not serve yet is picked up by a SIGHUP to the running responder', async () => {
  const dns = service();
  const pid = pidNow();
  const beta = docs.network('beta', { dns: true, gateway4: '127.0.31.1' });
  docs.sandbox('b1', [{ network: 'beta', ipv4: '127.0.31.2/8' }]);
  await dns.serve([alpha, beta]);
  expect(pidNow()).toBe(pid);
  expect(logText()).toContain('reloading (SIGHUP)');
  expect(dataOf(await udpQuery('127.0.31.2', '127.0.31.1', PORT, queryPacket('b1', 'A')))).toEqual(['127.0.31.2']);
});

test('serve() fails with SWY_ERR_DNS_UNAVAILABLE, naming the log, when the responder cannot listen on a gateway', async () => {
  const dns = createDnsService({ stateDir: docs.stateDir, port: PORT, readyTimeoutMs: 300 });
  const ghost = docs.network('ghost', { dns: true, gateway4: '192.0.2.77' });
  docs.sandbox('g1', [{ network: 'ghost', ipv4: '192.0.2.78/24' }]);
  const outcome = await outcomeOf(dns.serve([ghost]));
  expect(outcome).toEqual({ code: 'SWY_ERR_DNS_UNAVAILABLE', message: expect.stringContaining('ghost') });
  const error = await dns.serve([ghost]).catch((e: unknown) => e);
  expect(error).toMatchObject({ hint: expect.stringContaining(join(docs.stateDir, 'dns', 'responder.log')), details: { log: join(docs.stateDir, 'dns', 'responder.log'), networks: ['ghost'] } });
  expect((error as Error).message).toContain('EADDRNOTAVAIL');
  docs.remove('sandboxes', 'g1');
  docs.remove('networks', 'ghost');
});

test('a killed responder is started again by the next serve(), and by revive()', async () => {
  const dns = service();
  const first = pidNow();
  process.kill(first, 'SIGKILL');
  await waitUntil(() => !alive(first), 'the responder died');
  expect((await dns.status()).state).toBe('stopped');
  await dns.serve([alpha]);
  const second = pidNow();
  expect(second).not.toBe(first);
  expect(dataOf(await udpQuery('127.0.30.2', '127.0.30.1', PORT, queryPacket('a1', 'A')))).toEqual(['127.0.30.2']);

  process.kill(second, 'SIGKILL');
  await waitUntil(() => !alive(second), 'the responder died');
  await dns.revive();
  const third = pidNow();
  expect(third).not.toBe(second);
  expect(await dns.status()).toMatchObject({ state: 'running', pid: third });
});

test('two services racing to start one end up with a single responder', async () => {
  const pid = pidNow();
  process.kill(pid, 'SIGTERM');
  await waitUntil(() => !alive(pid) && !existsSync(responderFile()), 'the responder stopped and removed responder.json');
  await Promise.all([service().serve([alpha]), service().serve([alpha]), service().serve([alpha])]);
  const winner = pidNow();
  await waitUntil(() => responderPids().join() === String(winner), 'the responders that lost the lock exited');
  expect(alive(winner)).toBe(true);
});

test('refresh() after the last endpoints are gone makes the responder exit and remove responder.json', async () => {
  const dns = service();
  const pid = pidNow();
  docs.remove('sandboxes', 'a1');
  await dns.refresh();
  // beta still has b1: the responder stays, serving beta only.
  await waitUntil(async () => (await dns.status()).networks.map((n) => n.name).join() === 'beta', 'alpha dropped');
  expect(pidNow()).toBe(pid);
  docs.remove('sandboxes', 'b1');
  await dns.refresh();
  await waitUntil(() => !alive(pid), 'the responder exited');
  expect(existsSync(responderFile())).toBe(false);
  expect(await dns.status()).toEqual({ state: 'stopped', networks: [], upstreams: [`${UPSTREAM}:${PORT}`] });
  // With nothing to serve, revive() starts nothing and refresh() is harmless.
  await dns.revive();
  await dns.refresh();
  expect(existsSync(responderFile())).toBe(false);
});

test('a responder that fails on its own is not started again and again: serve() fails at once, naming the log', async () => {
  const other = new StateDocs();
  try {
    const net = other.network('n', { dns: true, gateway4: '127.0.32.1' });
    other.sandbox('s', [{ network: 'n', ipv4: '127.0.32.2/8' }]);
    const dns = createDnsService({ stateDir: other.stateDir, port: PORT, readyTimeoutMs: 60_000, command: [process.execPath, '-e', 'console.error("broken build"); process.exit(3)', '--'] });
    const error = await dns.serve([net]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SWY_ERR_DNS_UNAVAILABLE', details: { log: join(other.stateDir, 'dns', 'responder.log') } });
    expect((error as Error).message).toContain('it exited with status 3');
    expect(readFileSync(join(other.stateDir, 'dns', 'responder.log'), 'utf8')).toBe('broken build\n');
  } finally {
    other.cleanup();
  }
});

test('a log grown past 1 MiB is moved to responder.log.1 when a responder is started, so it never grows without end', async () => {
  const own = new StateDocs();
  try {
    const gamma = own.network('gamma', { dns: true, gateway4: '127.0.31.1' });
    own.sandbox('g1', [{ network: 'gamma', ipv4: '127.0.31.2/8' }]);
    const log = join(own.stateDir, 'dns', 'responder.log');
    mkdirSync(join(own.stateDir, 'dns'), { recursive: true });
    writeFileSync(log, 'x'.repeat(LOG_ROTATE_BYTES + 1));
    await createDnsService({ stateDir: own.stateDir, port: PORT, upstreams: [`${UPSTREAM}:${PORT}`] }).serve([gamma]);
    const pid = readResponderFile(own.stateDir)?.pid;
    if (pid !== undefined) pids.add(pid);
    expect(statSync(`${log}.1`).size).toBe(LOG_ROTATE_BYTES + 1);
    expect(statSync(log).size).toBeLessThan(4096);
    expect(readFileSync(log, 'utf8')).toMatch(/listening on 127\.0\.31\.1/);
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
    await waitUntil(() => pid === undefined || !alive(pid), 'the responder to exit');
  } finally {
    own.cleanup();
  }
});
