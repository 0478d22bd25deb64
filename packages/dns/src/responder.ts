import type { LookupOneOptions } from 'node:dns';
import type { DecodedPacket } from 'dns-packet';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { hostPort } from './addresses.js';
import { buildResponse, decodeQuery, RCODE, udpLimit } from './answers.js';
import { forward } from './forwarder.js';
import { Records } from './records.js';
import { frame, readFrames } from './tcp-frames.js';
import { effectiveUpstreams, formatUpstream, hostNameservers, type Upstream } from './upstreams.js';

/** How a {@link Responder} is set up. */
export interface ResponderOptions {
  /** The state directory whose networks and sandboxes it answers for. */
  stateDir: string;
  /** The port it listens on at each gateway address; default 53. */
  port?: number;
  /** Upstream name servers (`ip`, `ip:port`, `[v6]:port`); default the host's, from /etc/resolv.conf. */
  upstreams?: readonly string[];
  /** Where log lines go; default nowhere. */
  log?: (line: string) => void;
  /** The host's name servers, when no upstreams are given; default those of /etc/resolv.conf. */
  hostNameservers?: () => string[];
}

/** A network the responder serves and where it listens for it. */
export interface ListeningNetwork {
  /** The network's id. */
  id: string;
  /** The network's name. */
  name: string;
  /** The addresses it listens on for this network, `ip:port` / `[ip]:port`, over both UDP and TCP. */
  listening: string[];
  /** Why it could not listen on some gateway address (e.g. not configured on this host yet). */
  error?: string;
}

/** One gateway address: a UDP socket and a TCP server on it. */
interface Listener {
  udp: UdpSocket;
  tcp: Server;
  connections: Set<Socket>;
}

/** How long an idle TCP client connection stays open. */
const TCP_IDLE_MS = 10_000;

/** A question the responder does not answer itself: forwarded upstream. */
class Forward {
  constructor(readonly query: DecodedPacket) {}
}

/** dgram's `lookup` for sends to addresses that are already literal: hands the address straight back. */
function literalAddress(address: string, options: LookupOneOptions | number, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  callback(null, address, address.includes(':') ? 6 : 4);
}

/**
 * The DNS responder: listens over UDP and TCP on the gateway addresses of the networks it serves,
 * answers the names of their sandboxes (scoped by the asker's address, from {@link Records}, TTL 0),
 * forwards every other question to the upstreams, and answers SERVFAIL when none answers.
 */
export class Responder {
  /** The names it answers. */
  readonly records: Records;
  /** The port it listens on. */
  readonly port: number;
  private readonly log: (line: string) => void;
  private readonly listeners = new Map<string, Listener>();
  private current: ListeningNetwork[] = [];
  private forwardTo: Upstream[] = [];
  private reloading: Promise<ListeningNetwork[]> | undefined;
  private again = false;

  constructor(private readonly options: ResponderOptions) {
    this.port = options.port ?? 53;
    this.log = options.log ?? (() => undefined);
    this.records = new Records({ stateDir: options.stateDir, watch: true, onBadDocument: (path, e) => this.log(`ignoring ${path}: ${(e as Error).message}`) });
  }

  /** The networks it serves and where it listens, as of the last {@link reload}. */
  networks(): ListeningNetwork[] {
    return this.current.map((n) => ({ ...n, listening: [...n.listening] }));
  }

  /** The upstreams it forwards to, as `ip:port`. */
  upstreams(): string[] {
    return this.forwardTo.map(formatUpstream);
  }

  /**
   * Reads which networks to serve and binds or closes the difference; an address it cannot bind (not
   * configured on this host yet, in use) fails that network only, and is logged. Concurrent calls share
   * one reload and run one more after it.
   */
  reload(): Promise<ListeningNetwork[]> {
    if (this.reloading !== undefined) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.again = false;
          await this.reloadOnce();
        } while (this.again);
        return this.networks();
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  /** Closes every socket and client connection (after a reload under way has finished binding). */
  async close(): Promise<void> {
    await this.reloading?.catch(() => undefined);
    await Promise.all([...this.listeners.keys()].map((a) => this.unbind(a)));
    this.current = [];
    this.records.close();
  }

  /**
   * The answer to one message from `source`, or undefined when it is dropped (not a DNS query).
   * Over UDP a local answer longer than the client accepts is truncated (TC).
   */
  async answer(message: Buffer, source: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    const here = this.answerHere(message, source, transport);
    return here instanceof Forward ? this.forwarded(here, message, transport) : here;
  }

  /**
   * What can be answered without waiting: a local answer, FORMERR, a dropped message (undefined); else
   * the decoded query to forward. Synchronous, so a local UDP answer leaves in the same turn of the
   * event loop as its query arrived.
   */
  private answerHere(message: Buffer, source: string, transport: 'udp' | 'tcp'): Buffer | undefined | Forward {
    const query = decodeQuery(message);
    if (query === undefined) return undefined;
    const questions = query.questions ?? [];
    const question = questions[0];
    if (questions.length !== 1 || question === undefined) return buildResponse(query, { rcode: RCODE.FORMERR });
    if ((query as { opcode?: string }).opcode === 'QUERY' && (question.class ?? 'IN') === 'IN') {
      this.records.check();
      const found = this.records.lookup(source, question.name, question.type);
      if (found.local) return buildResponse(query, { answers: found.answers, ...(transport === 'udp' ? { limit: udpLimit(query) } : {}) });
    }
    return new Forward(query);
  }

  private async forwarded(what: Forward, message: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer> {
    const relayed = await forward(this.forwardTo, message, transport, what.query.id ?? 0);
    return relayed ?? buildResponse(what.query, { rcode: RCODE.SERVFAIL });
  }

  private async reloadOnce(): Promise<void> {
    this.records.check(true);
    const wanted = this.records.servedNetworks();
    const wantedAddresses = new Set(wanted.flatMap((n) => n.addresses));
    for (const address of [...this.listeners.keys()]) if (!wantedAddresses.has(address)) await this.unbind(address);
    const failures = new Map<string, string>();
    for (const address of wantedAddresses) {
      if (this.listeners.has(address)) continue;
      try {
        await this.bind(address);
        this.log(`listening on ${hostPort(address, this.port)} (udp, tcp)`);
      } catch (e) {
        const reason = `cannot listen on ${hostPort(address, this.port)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
        failures.set(address, reason);
        this.log(reason);
      }
    }
    this.current = wanted.map((n) => {
      const errors = n.addresses.flatMap((a) => failures.get(a) ?? []);
      return {
        id: n.id,
        name: n.name,
        listening: n.addresses.filter((a) => this.listeners.has(a)).map((a) => hostPort(a, this.port)),
        ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
      };
    });
    const self = new Set(this.current.flatMap((n) => n.listening));
    try {
      this.forwardTo = effectiveUpstreams(this.options.upstreams, self, this.options.hostNameservers ?? hostNameservers);
    } catch (e) {
      this.log(`upstreams: ${(e as Error).message}`);
      this.forwardTo = [];
    }
  }

  private async bind(address: string): Promise<void> {
    // Answers go to the literal address a query came from: no resolver round (dgram's default lookup defers each send by a tick).
    const udp = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', lookup: literalAddress });
    const tcp = createServer();
    const listener: Listener = { udp, tcp, connections: new Set() };
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address, port: this.port, exclusive: true }, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: address, port: this.port }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      try {
        udp.close();
      } catch {
        // Never bound.
      }
      tcp.close();
      throw e;
    }
    udp.on('error', (e) => this.log(`udp ${hostPort(address, this.port)}: ${e.message}`));
    udp.on('message', (message: Buffer, from: RemoteInfo) => this.onDatagram(udp, message, from));
    tcp.on('error', (e) => this.log(`tcp ${hostPort(address, this.port)}: ${e.message}`));
    tcp.on('connection', (socket) => this.onConnection(listener, socket));
    this.listeners.set(address, listener);
  }

  private async unbind(address: string): Promise<void> {
    const listener = this.listeners.get(address);
    if (listener === undefined) return;
    this.listeners.delete(address);
    for (const c of listener.connections) c.destroy();
    await Promise.all([new Promise<void>((r) => listener.udp.close(() => r())), new Promise<void>((r) => listener.tcp.close(() => r()))]);
    this.log(`stopped listening on ${hostPort(address, this.port)}`);
  }

  private onDatagram(udp: UdpSocket, message: Buffer, from: RemoteInfo): void {
    let here: Buffer | undefined | Forward;
    try {
      here = this.answerHere(message, from.address, 'udp');
    } catch (e) {
      this.log(`answering ${from.address}: ${(e as Error).message}`);
      return;
    }
    if (!(here instanceof Forward)) {
      if (here !== undefined) udp.send(here, from.port, from.address);
      return;
    }
    this.forwarded(here, message, 'udp').then(
      (reply) => {
        if (reply !== undefined) udp.send(reply, from.port, from.address, () => undefined);
      },
      (e: unknown) => this.log(`answering ${from.address}: ${(e as Error).message}`),
    );
  }

  private onConnection(listener: Listener, socket: Socket): void {
    listener.connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => listener.connections.delete(socket));
    const source = socket.remoteAddress ?? '';
    readFrames(socket, (message) => {
      this.answer(message, source, 'tcp').then(
        (reply) => {
          if (reply !== undefined && !socket.destroyed) socket.write(frame(reply));
        },
        (e: unknown) => this.log(`answering ${source}: ${(e as Error).message}`),
      );
    });
  }
}
