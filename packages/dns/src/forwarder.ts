import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Upstream } from './upstreams.js';
import { readFrames, frame } from './tcp-frames.js';

/** How long one upstream has to answer before the next is tried. */
export const UPSTREAM_TIMEOUT_MS = 2000;

/**
 * A promise settled once, by the first of `answer(bytes)`, a failure or `timeoutMs`; `close` runs then
 * (the socket goes). `open` wires the transport to `answer` and `fail`.
 */
function firstAnswer(timeoutMs: number, open: (answer: (bytes: Buffer) => void, fail: () => void) => { close: () => void }): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const transport: { close?: () => void } = {};
    const finish = (answer: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      transport.close?.();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const opened = open(finish, () => finish(undefined));
    // Settled while opening (a synchronous error): close what was opened now.
    if (done) opened.close();
    else transport.close = opened.close;
  });
}

/**
 * Sends the query's bytes as they are to one upstream over UDP, from a fresh connected socket (so only
 * that server can answer it and the client's id needs no rewriting); resolves to the answer's bytes
 * (a truncated one included: the client retries over TCP), or undefined after `timeoutMs`.
 */
export function askOverUdp(upstream: Upstream, query: Buffer, id: number, timeoutMs = UPSTREAM_TIMEOUT_MS): Promise<Buffer | undefined> {
  return firstAnswer(timeoutMs, (answer, fail) => {
    const socket = createSocket(upstream.family === 4 ? 'udp4' : 'udp6');
    socket.on('error', fail);
    socket.on('message', (reply) => {
      // A datagram that is not an answer to this id is ignored; one dns-packet cannot read still goes back as is.
      try {
        if (dnsPacket.decode(reply).id !== id) return;
      } catch {
        // Left for the client to judge.
      }
      answer(reply);
    });
    socket.connect(upstream.port, upstream.address, () => {
      socket.send(query, (e) => {
        if (e) fail();
      });
    });
    return { close: () => socket.close() };
  });
}

/** Sends one query (unframed bytes) to an upstream over TCP and resolves to its answer (unframed), or undefined on failure or timeout. */
export function askOverTcp(upstream: Upstream, query: Buffer, timeoutMs = UPSTREAM_TIMEOUT_MS): Promise<Buffer | undefined> {
  return firstAnswer(timeoutMs, (answer, fail) => {
    const socket = connect({ host: upstream.address, port: upstream.port });
    socket.on('error', fail);
    socket.on('close', fail);
    socket.on('connect', () => socket.write(frame(query)));
    readFrames(socket, answer);
    return { close: () => socket.destroy() };
  });
}

/** Tries each upstream in turn until one answers; undefined when none does (or there is none). */
export async function forward(upstreams: readonly Upstream[], query: Buffer, transport: 'udp' | 'tcp', id: number): Promise<Buffer | undefined> {
  for (const upstream of upstreams) {
    const answer = transport === 'udp' ? await askOverUdp(upstream, query, id) : await askOverTcp(upstream, query);
    if (answer !== undefined) return answer;
  }
  return undefined;
}
