import { Resolver } from 'node:dns/promises';
import { HOST_NS } from '@switchyard/core';
import { execIn, outcomeOf, requireLab } from '@switchyard/core/testing';
import * as dnsPacket from 'dns-packet';
import { Responder } from '../responder.js';
import { dataOf, FakeUpstream, queryPacket, tcpExchange, udpExchange, udpQuery } from './dns-lab.js';
import { StateDocs } from './state-docs.js';

const PORT = 15353;
const UPSTREAM = '127.0.20.1';
const V6 = ['fd5a:1::1/64', 'fd5a:1::2/64'];

let docs: StateDocs;
let upstream: FakeUpstream;
let responder: Responder;
const logs: string[] = [];

function resolverFrom(source: string, server = '127.0.10.1'): Resolver {
  const r = new Resolver({ timeout: 4000, tries: 1 });
  r.setServers([`${server}:${PORT}`]);
  if (source.includes(':')) r.setLocalAddress('0.0.0.0', source);
  else r.setLocalAddress(source);
  return r;
}

beforeAll(async () => {
  requireLab();
  for (const a of V6) await execIn(HOST_NS, ['ip', '-6', 'addr', 'replace', a, 'dev', 'lo', 'nodad']);
  upstream = await new FakeUpstream(UPSTREAM, PORT).start();
  docs = new StateDocs();
  docs.network('front', { dns: true, gateway4: '127.0.10.1', gateway6: 'fd5a:1::1' });
  docs.network('back', { dns: true, gateway4: '127.0.11.1' });
  docs.sandbox('web', [{ network: 'front', ipv4: '127.0.10.2/8', ipv6: 'fd5a:1::2/64', aliases: ['www'] }]);
  docs.sandbox('api', [
    { network: 'front', ipv4: '127.0.10.3/8' },
    { network: 'back', ipv4: '127.0.11.3/8' },
  ]);
  docs.sandbox('db', [{ network: 'back', ipv4: '127.0.11.4/8' }]);
  responder = new Responder({ stateDir: docs.stateDir, port: PORT, upstreams: [`${UPSTREAM}:${PORT}`], log: (l) => logs.push(l) });
  await responder.reload();
});

afterAll(async () => {
  await responder?.close();
  await upstream?.stop();
  docs?.cleanup();
  for (const a of V6) await execIn(HOST_NS, ['ip', '-6', 'addr', 'del', a, 'dev', 'lo'], { allowFailure: true });
});

test('it listens on every gateway address of the served networks and forwards to the upstream given', () => {
  expect(responder.networks()).toEqual([
    { id: 'back-id', name: 'back', listening: [`127.0.11.1:${PORT}`] },
    { id: 'front-id', name: 'front', listening: [`127.0.10.1:${PORT}`, `[fd5a:1::1]:${PORT}`] },
  ]);
  expect(responder.upstreams()).toEqual([`${UPSTREAM}:${PORT}`]);
});

test('a neighbour resolves by name and alias (A, AAAA), and its address back to its name (PTR), over IPv4 and IPv6', async () => {
  const fromApi = resolverFrom('127.0.10.3');
  expect(await fromApi.resolve4('web')).toEqual(['127.0.10.2']);
  expect(await fromApi.resolve4('WWW.')).toEqual(['127.0.10.2']);
  expect(await fromApi.resolve6('web')).toEqual(['fd5a:1::2']);
  expect(await fromApi.reverse('127.0.10.2')).toEqual(['web']);
  expect(await fromApi.reverse('fd5a:1::2')).toEqual(['web']);
  // web asks over IPv6, on the network's IPv6 gateway.
  const fromWeb6 = resolverFrom('fd5a:1::2', '[fd5a:1::1]');
  expect(await fromWeb6.resolve4('api')).toEqual(['127.0.10.3']);
  const ttl = await fromApi.resolve4('web', { ttl: true });
  expect(ttl).toEqual([{ address: '127.0.10.2', ttl: 0 }]);
});

test('a local name asked for a type it lacks is NODATA, not NXDOMAIN, and is not forwarded', async () => {
  const before = upstream.asked.length;
  for (const type of ['AAAA', 'MX', 'TXT'] as const) {
    const r = await udpQuery('127.0.10.2', '127.0.10.1', PORT, queryPacket('api', type));
    expect(r).toMatchObject({ rcode: 'NOERROR', flag_aa: true, answers: [] });
  }
  expect(upstream.asked.length).toBe(before);
});

test('names are scoped by the asker: a sandbox on two networks sees both, one on another network or none sees nothing local', async () => {
  expect(dataOf(await udpQuery('127.0.10.3', '127.0.10.1', PORT, queryPacket('db', 'A')))).toEqual(['127.0.11.4']);
  expect(dataOf(await udpQuery('127.0.11.3', '127.0.11.1', PORT, queryPacket('web', 'A')))).toEqual(['127.0.10.2']);
  // db is on back only: web is not one of its names, so the question goes upstream (NXDOMAIN there).
  const fromDb = await udpQuery('127.0.11.4', '127.0.11.1', PORT, queryPacket('web', 'A'));
  expect(fromDb).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
  expect(upstream.asked.at(-1)).toMatchObject({ name: 'web', transport: 'udp' });
  const fromStranger = await udpQuery('127.0.12.9', '127.0.10.1', PORT, queryPacket('web', 'A'));
  expect(fromStranger).toMatchObject({ rcode: 'NXDOMAIN', flag_aa: false });
});

test('other names are forwarded: UDP over UDP keeping the client id, TCP over TCP with several queries on one connection', async () => {
  const udp = await udpQuery('127.0.10.2', '127.0.10.1', PORT, queryPacket('up.example', 'A', 777));
  expect(udp).toMatchObject({ id: 777, rcode: 'NOERROR' });
  expect(dataOf(udp)).toEqual(['192.0.2.1']);
  expect(upstream.asked.at(-1)).toEqual({ name: 'up.example', type: 'A', transport: 'udp', id: 777 });

  const tcp = await tcpExchange('127.0.10.2', '127.0.10.1', PORT, [dnsPacket.encode(queryPacket('up.example', 'A', 1)), dnsPacket.encode(queryPacket('api', 'A', 2))], 2);
  const byId = new Map(tcp.map((p) => [p.id, p]));
  expect(dataOf(byId.get(1)!)).toEqual(['192.0.2.1']);
  expect(dataOf(byId.get(2)!)).toEqual(['127.0.10.3']);
  expect(upstream.asked.filter((a) => a.id === 1)).toEqual([{ name: 'up.example', type: 'A', transport: 'tcp', id: 1 }]);
});

test('a truncated upstream answer goes back as it is, and the client retries over TCP', async () => {
  const udp = await udpQuery('127.0.10.2', '127.0.10.1', PORT, queryPacket('big.example', 'A', 99));
  expect(udp).toMatchObject({ id: 99, flag_tc: true, answers: [] });
  const asked = upstream.asked.length;
  const all = await resolverFrom('127.0.10.2').resolve4('big.example');
  expect(all).toHaveLength(40);
  expect(upstream.asked.slice(asked).map((a) => a.transport)).toEqual(['udp', 'tcp']);
});

test('a local answer too big for 512 bytes is truncated over UDP and whole over TCP', async () => {
  docs.sandbox('crowd', [{ network: 'front', ipv4: '127.0.10.50/8', aliases: ['many'] }]);
  for (let i = 0; i < 40; i++) docs.sandbox(`m${i}`, [{ network: 'front', ipv4: `127.0.13.${i + 1}/8`, aliases: ['many'] }]);
  const udp = await udpQuery('127.0.10.2', '127.0.10.1', PORT, queryPacket('many', 'A'));
  expect(udp).toMatchObject({ flag_tc: true, answers: [] });
  expect(await resolverFrom('127.0.10.2').resolve4('many')).toHaveLength(41);
  for (let i = 0; i < 40; i++) docs.remove('sandboxes', `m${i}`);
  docs.remove('sandboxes', 'crowd');
});

test('without an answering upstream the answer is SERVFAIL', async () => {
  const dead = new Responder({ stateDir: docs.stateDir, port: PORT + 1, upstreams: [`127.0.20.9:${PORT}`] });
  const none = new Responder({ stateDir: docs.stateDir, port: PORT + 2, upstreams: [], hostNameservers: () => [] });
  try {
    await dead.reload();
    await none.reload();
    expect(await udpQuery('127.0.10.2', '127.0.10.1', PORT + 1, queryPacket('up.example', 'A', 5))).toMatchObject({ id: 5, rcode: 'SERVFAIL' });
    expect((await tcpExchange('127.0.10.2', '127.0.10.1', PORT + 1, [dnsPacket.encode(queryPacket('up.example', 'A', 6))], 1))[0]).toMatchObject({ id: 6, rcode: 'SERVFAIL' });
    expect(await udpQuery('127.0.10.2', '127.0.10.1', PORT + 2, queryPacket('up.example', 'A', 7))).toMatchObject({ id: 7, rcode: 'SERVFAIL' });
    // Local names still answer.
    expect(dataOf(await udpQuery('127.0.10.2', '127.0.10.1', PORT + 2, queryPacket('api', 'A')))).toEqual(['127.0.10.3']);
  } finally {
    await dead.close();
    await none.close();
  }
});

test('a malformed packet is dropped and the next query answered, over UDP and TCP', async () => {
  const garbage = Buffer.from('\x00\x01 this is not dns');
  // Sent in order on one socket: had the garbage been answered, that answer would come first.
  const next = await udpExchange('127.0.10.2', '127.0.10.1', PORT, [garbage, dnsPacket.encode(queryPacket('api', 'A', 11))]);
  expect(next).toMatchObject({ id: 11 });
  expect(dataOf(next!)).toEqual(['127.0.10.3']);
  const [tcp] = await tcpExchange('127.0.10.2', '127.0.10.1', PORT, [garbage, Buffer.alloc(0), dnsPacket.encode(queryPacket('api', 'A', 12))], 1);
  expect(tcp).toMatchObject({ id: 12 });
});

test('a sandbox resolves on the very next query after its document is written, and stops after it is removed', async () => {
  for (let i = 0; i < 10; i++) {
    docs.sandbox(`fresh${i}`, [{ network: 'front', ipv4: `127.0.10.${100 + i}/8` }]);
    expect(dataOf(await udpQuery('127.0.10.2', '127.0.10.1', PORT, queryPacket(`fresh${i}`, 'A')))).toEqual([`127.0.10.${100 + i}`]);
    docs.remove('sandboxes', `fresh${i}`);
    expect(await udpQuery('127.0.10.2', '127.0.10.1', PORT, queryPacket(`fresh${i}`, 'A'))).toMatchObject({ rcode: 'NXDOMAIN' });
  }
});

test('reload binds a new network and drops one that lost its last endpoint; an address not on this host fails that network only', async () => {
  docs.network('side', { dns: true, gateway4: '127.0.14.1' });
  docs.network('ghost', { dns: true, gateway4: '192.0.2.77' });
  docs.sandbox('tool', [{ network: 'side', ipv4: '127.0.14.2/8' }]);
  docs.sandbox('spirit', [{ network: 'ghost', ipv4: '192.0.2.78/24' }]);
  docs.remove('sandboxes', 'db');
  docs.sandbox('api', [{ network: 'front', ipv4: '127.0.10.3/8' }]);
  const networks = await responder.reload();
  expect(networks).toEqual([
    { id: 'front-id', name: 'front', listening: [`127.0.10.1:${PORT}`, `[fd5a:1::1]:${PORT}`] },
    { id: 'ghost-id', name: 'ghost', listening: [], error: `cannot listen on 192.0.2.77:${PORT}: EADDRNOTAVAIL` },
    { id: 'side-id', name: 'side', listening: [`127.0.14.1:${PORT}`] },
  ]);
  expect(logs).toContain(`cannot listen on 192.0.2.77:${PORT}: EADDRNOTAVAIL`);
  expect(dataOf(await udpQuery('127.0.14.2', '127.0.14.1', PORT, queryPacket('tool', 'A')))).toEqual(['127.0.14.2']);
  // back is gone: nothing answers on its gateway any more.
  expect(await outcomeOf(tcpExchange('127.0.11.3', '127.0.11.1', PORT, [dnsPacket.encode(queryPacket('api', 'A'))], 1))).toEqual({ code: 'ECONNREFUSED', message: expect.any(String) });
  expect(logs).toContain(`stopped listening on 127.0.11.1:${PORT}`);
});
