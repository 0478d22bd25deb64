import type { DnsService, Firewall, Switchyard, SwitchyardOptions } from '@switchyard/core';
import type { DoctorProbes } from './doctor/probes.js';
import type { CommandStarter, SignalSource } from './run/child-process.js';
import type { PingFn } from './demo/ping.js';
import type { NpmRunner } from './plugins/plugin-dir.js';

/** Where output goes; `runCli` callers pass process streams, tests pass buffers. */
export interface TextSink {
  /** Writes a chunk of text; the return value is ignored. */
  write(chunk: string): unknown;
  /** Whether the sink is a terminal, as Node's streams report it. */
  isTTY?: boolean;
}

/** The CLI's standard streams and environment. */
export interface CliIo {
  /** Where results go. */
  stdout: TextSink;
  /** Where errors and progress go. */
  stderr: TextSink;
  /** The environment variables the CLI reads (`SWITCHYARD_*`, `PATH`, …); usually `process.env`. */
  env: Record<string, string | undefined>;
}

/** Ports the CLI reaches the outside world through; every one has a real default. */
export interface CliDeps {
  /** Builds the Switchyard instance (tests pass one on FakeKernel and a shared in-memory store). */
  createSwitchyard?: (options: SwitchyardOptions) => Promise<Switchyard>;
  /** Whether this process may change the kernel (default: uid 0 or CAP_NET_ADMIN in CapEff). */
  hasPrivileges?: () => boolean;
  /**
   * Starts `run`'s command inside the sandbox (default: `nsenter --net=<netns> -- cmd…`).
   *
   * @internal
   */
  startCommand?: CommandStarter;
  /**
   * Source of SIGINT/SIGTERM for `run` (default: this process).
   *
   * @internal
   */
  signals?: SignalSource;
  /**
   * What `doctor` looks at on the machine (tools, CNI plugins, privileges, /proc).
   *
   * @internal
   */
  doctor?: Partial<DoctorProbes>;
  /**
   * How `demo` pings between sandboxes (default: `nsenter … ping`).
   *
   * @internal
   */
  ping?: PingFn;
  /** Run `demo`'s scenario right here instead of re-executing inside a private namespace (tests). */
  demoInPlace?: boolean;
  /** Milliseconds clock for timings. */
  now?: () => number;
  /**
   * The firewall backend (default: nftables when this host has it, through libnftables or `nft`;
   * `SWITCHYARD_FIREWALL=nft|none` forces one). When `createSwitchyard` is replaced (tests) and this
   * is not given, no firewall is looked for: a fake kernel never meets the real nftables.
   */
  firewall?: () => Firewall | undefined;
  /**
   * The DNS service (default: `@switchyard/dns`'s responder for the state dir, upstream servers from
   * `SWITCHYARD_DNS_UPSTREAM` (comma-separated) or the host's; `SWITCHYARD_DNS=none` gives none). When
   * `createSwitchyard` is replaced (tests) and this is not given, there is none: no responder process is
   * started for a fake kernel.
   */
  dns?: (stateDir: string) => DnsService | undefined;
  /**
   * Runs npm for `plugin install/rm` (default: `npm` from PATH, umask 022); tests pass a fake.
   *
   * @internal
   */
  npm?: NpmRunner;
  /** The @switchyard/core directory plugins get as their peer (default: the one this CLI loads). */
  coreDir?: () => string;
  /** Asks a yes/no question (`prune` without --force; default: one line from stdin, yes only for y/yes). */
  confirm?: (question: string) => Promise<boolean>;
  /** Whether any process is in a sandbox's namespace (`sandbox prune`; default: a scan of /proc/<pid>/ns/net). */
  namespaceInUse?: (netnsPath: string) => boolean;
}

/** Options every command accepts. */
export interface GlobalFlags {
  json?: boolean;
  stateDir?: string;
  netDir?: string;
  etcd?: string;
  etcdCacert?: string;
  etcdCert?: string;
  etcdKey?: string;
  hostName?: string;
}

/** Where the global store of multi-host networks is, when one is given (`--etcd`, env SWITCHYARD_ETCD). */
export interface EtcdFlags {
  /** Client URLs, comma-separated. */
  endpoints: string;
  /** This host's name in the cluster (default the hostname). */
  hostName?: string;
  /** TLS files. */
  tls?: { ca: string; cert?: string; key?: string };
}

/**
 * The options of `switchyard` itself (before the command word), as program.ts declares them; here so that
 * main.ts can read a command line (isRunCommandLine) without loading commander.
 */
export const GLOBAL_OPTIONS: readonly { flags: string; description: string }[] = [
  { flags: '--json', description: 'print machine-readable JSON instead of tables' },
  { flags: '--state-dir <dir>', description: 'where Switchyard keeps its state (env SWITCHYARD_STATE_DIR; default /var/lib/switchyard)' },
  { flags: '--net-dir <dir>', description: 'directory of rkt/CNI network files (env SWITCHYARD_NET_DIR; default /etc/switchyard/net.d)' },
  { flags: '--etcd <urls>', description: 'etcd client URL(s) of the global store for multi-host networks, comma-separated (env SWITCHYARD_ETCD)' },
  { flags: '--etcd-cacert <file>', description: 'CA bundle of an https etcd (env SWITCHYARD_ETCD_CACERT)' },
  { flags: '--etcd-cert <file>', description: 'client certificate for etcd (env SWITCHYARD_ETCD_CERT; with --etcd-key)' },
  { flags: '--etcd-key <file>', description: 'client key for etcd (env SWITCHYARD_ETCD_KEY)' },
  { flags: '--host-name <name>', description: "this host's name in the cluster (env SWITCHYARD_HOST_NAME; default the hostname)" },
];

export const DEFAULT_STATE_DIR = '/var/lib/switchyard';
export const DEFAULT_NET_DIR = '/etc/switchyard/net.d';

/**
 * What a command runs with: output, resolved global flags, and the Switchyard instance, opened on
 * first use (loading core lazily keeps `--version` and `--help` fast).
 */
export class CliContext {
  exitCode = 0;
  private globals: GlobalFlags = {};
  private instance: Switchyard | undefined;

  constructor(
    readonly io: CliIo,
    readonly deps: CliDeps,
    private jsonHint: boolean,
  ) {}

  setGlobals(flags: GlobalFlags): void {
    this.globals = flags;
    this.jsonHint = flags.json === true;
  }

  get json(): boolean {
    return this.jsonHint;
  }

  get stateDir(): string {
    return nonEmpty(this.globals.stateDir) ?? nonEmpty(this.io.env.SWITCHYARD_STATE_DIR) ?? DEFAULT_STATE_DIR;
  }

  get netDir(): string {
    return nonEmpty(this.globals.netDir) ?? nonEmpty(this.io.env.SWITCHYARD_NET_DIR) ?? DEFAULT_NET_DIR;
  }

  /** The global store's location, or undefined for a single-host instance. */
  get etcd(): EtcdFlags | undefined {
    const g = this.globals;
    const env = this.io.env;
    const endpoints = nonEmpty(g.etcd) ?? nonEmpty(env.SWITCHYARD_ETCD);
    if (endpoints === undefined) return undefined;
    const hostName = nonEmpty(g.hostName) ?? nonEmpty(env.SWITCHYARD_HOST_NAME);
    const ca = nonEmpty(g.etcdCacert) ?? nonEmpty(env.SWITCHYARD_ETCD_CACERT);
    const cert = nonEmpty(g.etcdCert) ?? nonEmpty(env.SWITCHYARD_ETCD_CERT);
    const key = nonEmpty(g.etcdKey) ?? nonEmpty(env.SWITCHYARD_ETCD_KEY);
    // Any TLS flag makes a tls object (an empty CA when it is missing): the store refuses it coded, rather than the flags being ignored.
    const tls = ca || cert || key ? { tls: { ca: ca ?? '', ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {};
    return { endpoints, ...(hostName ? { hostName } : {}), ...tls };
  }

  get debug(): boolean {
    return this.io.env.SWITCHYARD_DEBUG === '1';
  }

  now(): number {
    return (this.deps.now ?? performance.now.bind(performance))();
  }

  /** Human output on stdout (skipped under --json). */
  say(text: string): void {
    // Nothing at all for an empty text (a script's `ls -q` with no match prints no blank line).
    if (!this.json && text !== '') this.io.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** Machine output on stdout (only under --json). */
  emitJson(value: unknown): void {
    if (this.json) this.io.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** Writes the human text or the JSON value, whichever the user asked for. */
  result(human: string, json: unknown): void {
    if (this.json) this.emitJson(json);
    else this.say(human);
  }

  /** A progress line on stderr, for long operations. */
  progress(line: string): void {
    this.io.stderr.write(`switchyard: ${line}\n`);
  }

  warn(line: string): void {
    this.io.stderr.write(`warning: ${line}\n`);
  }

  /**
   * The Switchyard instance. `change` runs crash recovery (which may touch the kernel); `read`
   * only reads the state dir, so `ls`/`inspect` need no privileges.
   */
  async open(purpose: 'read' | 'change'): Promise<Switchyard> {
    if (!this.instance) {
      const { openSwitchyard } = await import('./open-switchyard.js');
      this.instance = await openSwitchyard(this, purpose);
    }
    return this.instance;
  }

  /** Refuses with SWY_ERR_PERMISSION_DENIED when this process may not change the kernel. */
  async requirePrivileges(action: string): Promise<void> {
    const { assertPrivileged } = await import('./privileges.js');
    assertPrivileged(action, this.deps.hasPrivileges);
  }

  async close(): Promise<void> {
    const sy = this.instance;
    this.instance = undefined;
    if (sy) await sy.close();
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
