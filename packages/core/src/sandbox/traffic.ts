import type { ResultPromise } from 'execa';
import { defaultCommandContext, programIn } from '../kernel/iproute2-commands.js';
import type { NetnsRef } from '../spi/kernel.js';

/**
 * Real traffic for firewall tests and the demo: an echo server that answers each client with the
 * address it saw the client come from, and a client that returns that answer. Both are node processes
 * run inside a namespace (no extra tools to install). Callers make sure they are in a lab (tests:
 * requireLab; the demo: its own private namespaces).
 */
export interface EchoServer {
  /** Kills the server process and waits for it to exit. */
  stop(): Promise<void>;
}

const SERVER = `
const [proto, port] = process.argv.slice(1);
const say = (a) => 'from ' + a.replace(/^::ffff:/, '') + '\\n';
if (proto === 'udp') {
  const s = require('node:dgram').createSocket({ type: 'udp6' });
  s.on('message', (_m, r) => s.send(say(r.address), r.port, r.address));
  s.bind(Number(port), '::', () => console.log('ready'));
} else {
  require('node:net').createServer((c) => { c.on('error', () => {}); c.end(say(c.remoteAddress)); }).listen(Number(port), '::', () => console.log('ready'));
}`;

// execa is loaded on first use: importing core (a CNI plugin exec, a CLI command) never pays for it.
const execa = async () => (await import('execa')).execa;

const CLIENT = `
const [proto, host, port, ms] = process.argv.slice(1);
const done = (s) => { process.stdout.write(s); process.exit(0); };
setTimeout(() => done('timeout'), Number(ms));
if (proto === 'udp') {
  const s = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
  s.on('message', (m) => done(String(m).trim()));
  s.send('hi', Number(port), host);
} else {
  let got = '';
  const c = require('node:net').connect(Number(port), host);
  c.on('data', (d) => (got += d));
  c.on('end', () => done(got.trim()));
  c.on('error', (e) => done('error ' + e.code));
}`;

/** Starts an echo server on `port` (all addresses, both families) inside `ns`; resolves once it listens. */
export async function startEchoServer(ns: NetnsRef, port: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<EchoServer> {
  const inv = programIn(ns, [process.execPath, '-e', SERVER, protocol, String(port)], { ip: 'ip', nsenter: 'nsenter' }, defaultCommandContext());
  const child: ResultPromise = (await execa())(inv.file, inv.args, { reject: false, buffer: false });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    void child.then((r) => reject(new Error(`echo server on ${port}/${protocol} exited early: ${String(r.stderr ?? r.exitCode)}`)));
  });
  return {
    async stop() {
      child.kill('SIGKILL');
      await child;
    },
  };
}

/**
 * Connects from `ns` to `host`:`port` and returns what the echo server said (`from <client address>`),
 * or `timeout` / `error <code>` when nothing answered.
 */
export async function askEcho(ns: NetnsRef, host: string, port: number, protocol: 'tcp' | 'udp' = 'tcp', waitMs = 1500): Promise<string> {
  const inv = programIn(ns, [process.execPath, '-e', CLIENT, protocol, host, String(port), String(waitMs)], { ip: 'ip', nsenter: 'nsenter' }, defaultCommandContext());
  const r = await (await execa())(inv.file, inv.args, { reject: false });
  return String(r.stdout).trim();
}
