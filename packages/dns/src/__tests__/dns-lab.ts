import { createSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, RecordType } from 'dns-packet';
import { frame, readFrames } from '../tcp-frames.js';

/** A query packet for one question. */
export function queryPacket(name: string, type: RecordType, id = Math.floor(Math.random() * 65535)): Packet {
  return { type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] };
}

/** Sends raw bytes over UDP from `from` to `server:port` and resolves to the decoded answer, or undefined after `waitMs`. */
export function udpExchange(from: string, server: string, port: number, messages: Buffer[], waitMs = 5000): Promise<DecodedPacket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, waitMs);
    socket.on('error', (e) => {
      clearTimeout(timer);
      socket.close();
      reject(e);
    });
    socket.on('message', (m) => {
      clearTimeout(timer);
      socket.close();
      resolve(dnsPacket.decode(m));
    });
    socket.bind({ address: from, port: 0 }, () => {
      for (const m of messages) socket.send(m, port, server);
    });
  });
}

/** One question over UDP from `from`. */
export async function udpQuery(from: string, server: string, port: number, packet: Packet): Promise<DecodedPacket> {
  const answer = await udpExchange(from, server, port, [dnsPacket.encode(packet)]);
  if (answer === undefined) throw new Error(`no UDP answer from ${server}:${port}`);
  return answer;
}

/** Sends length-prefixed messages over one TCP connection from `from`; resolves to the first `count` answers. */
export function tcpExchange(from: string, server: string, port: number, messages: Buffer[], count: number): Promise<DecodedPacket[]> {
  return new Promise((resolve, reject) => {
    const answers: DecodedPacket[] = [];
    const socket = connect({ host: server, port, localAddress: from });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`TCP connection closed after ${answers.length} of ${count} answers`)));
    socket.on('connect', () => {
      for (const m of messages) socket.write(frame(m));
    });
    readFrames(socket, (m) => {
      answers.push(dnsPacket.decode(m));
      if (answers.length === count) {
        socket.removeAllListeners('close');
        socket.destroy();
        resolve(answers);
      }
    });
  });
}

/** The addresses an answer carries, in order. */
export function dataOf(packet: DecodedPacket): string[] {
  return (packet.answers ?? []).map((a) => ('data' in a ? String(a.data as unknown as string) : a.type));
}

/** What a {@link FakeUpstream} was asked. */
export interface Asked {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  id: number;
}

/**
 * An upstream name server for tests, over UDP and TCP: `up.example` has 192.0.2.1; `big.example`
 * has 40 A records, truncated (TC, no records) over UDP; every other name is NXDOMAIN.
 */
export class FakeUpstream {
  readonly asked: Asked[] = [];
  private readonly udp = createSocket('udp4');
  private readonly tcp: Server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    readFrames(socket, (m) => {
      const answer = this.answer(m, 'tcp');
      if (answer !== undefined) socket.write(frame(answer));
    });
  });

  constructor(
    readonly address: string,
    readonly port: number,
  ) {}

  async start(): Promise<this> {
    await new Promise<void>((r) => this.udp.bind({ address: this.address, port: this.port }, () => r()));
    this.udp.on('message', (m, from) => {
      const answer = this.answer(m, 'udp');
      if (answer !== undefined) this.udp.send(answer, from.port, from.address);
    });
    await new Promise<void>((r) => this.tcp.listen({ host: this.address, port: this.port }, () => r()));
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([new Promise<void>((r) => this.udp.close(() => r())), new Promise<void>((r) => this.tcp.close(() => r()))]);
  }

  private answer(bytes: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
    let q: DecodedPacket;
    try {
      q = dnsPacket.decode(bytes);
    } catch {
      return undefined;
    }
    const question = q.questions?.[0];
    if (question === undefined) return undefined;
    this.asked.push({ name: question.name, type: question.type, transport, id: q.id ?? 0 });
    const base: Packet = { type: 'response', id: q.id ?? 0, flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED, questions: q.questions ?? [] };
    if (question.name === 'up.example' && question.type === 'A') return dnsPacket.encode({ ...base, answers: [{ type: 'A', name: question.name, ttl: 60, data: '192.0.2.1' }] });
    if (question.name === 'big.example' && question.type === 'A') {
      if (transport === 'udp') return dnsPacket.encode({ ...base, flags: (base.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE });
      const answers: Answer[] = Array.from({ length: 40 }, (_, i) => ({ type: 'A', name: question.name, ttl: 60, data: `198.51.100.${i + 1}` }));
      return dnsPacket.encode({ ...base, answers });
    }
    return dnsPacket.encode({ ...base, flags: (base.flags ?? 0) | 3 });
  }
}
