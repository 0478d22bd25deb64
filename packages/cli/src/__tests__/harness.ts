import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitchyard, type StateStore } from '@switchyard/core';
import { FakeKernel, MemoryFirewall, MemoryIpam, MemoryStore, memoryIpamManifest } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import { runCli, type CliDeps } from '../main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON. */
  json: () => any;
}

export interface Harness {
  fake: FakeKernel;
  ipam: MemoryIpam;
  stateDir: string;
  netDir: string;
  /** Runs one `switchyard` invocation; state persists across invocations of one harness. */
  run(...argv: string[]): Promise<CliRun>;
  /** Writes a file into the harness's net dir. */
  netConf(file: string, content: unknown): void;
  deps: CliDeps;
  /** The firewall every invocation shares (in memory), unless `deps.firewall` replaces it. */
  firewall: MemoryFirewall;
  dispose(): void;
}

/** A CLI on FakeKernel (with every feature unless `kernel.features` says otherwise), a memory IPAM (or host-local: `opts.hostLocal`) and one in-memory store shared by every invocation. */
export function harness(deps: CliDeps = {}, kernel: ConstructorParameters<typeof FakeKernel>[0] = {}, opts: { hostLocal?: boolean } = {}): Harness {
  const fake = new FakeKernel(kernel);
  const ipam = new MemoryIpam();
  const memory = new MemoryStore();
  const firewall = new MemoryFirewall();
  // Each invocation closes its instance; the shared store must outlive that.
  const store: StateStore = {
    get: (c, id) => memory.get(c, id),
    list: (c) => memory.list(c),
    transaction: (fn) => memory.transaction(fn),
    close: async () => {},
  };
  const root = mkdtempSync(join(tmpdir(), 'swy-cli-test-'));
  const stateDir = join(root, 'state');
  const netDir = join(root, 'net.d');
  mkdirSync(netDir);
  const h: Harness = {
    fake,
    ipam,
    stateDir,
    netDir,
    firewall,
    deps: {
      hasPrivileges: () => true,
      firewall: () => firewall,
      // hostLocal: the real host-local IPAM, its files under the state dir.
      createSwitchyard: (o) =>
        createSwitchyard({ ...o, builtins: { drivers: o.builtins?.drivers ?? [] }, ipams: [opts.hostLocal ? hostLocal : memoryIpamManifest(ipam)], kernel: fake, store, recover: false, autoloadPlugins: false }),
      ...deps,
    },
    async run(...argv) {
      let stdout = '';
      let stderr = '';
      const code = await runCli(
        argv,
        { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: { SWITCHYARD_STATE_DIR: stateDir, SWITCHYARD_NET_DIR: netDir, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
        h.deps,
      );
      return { code, stdout, stderr, json: () => JSON.parse(stdout) };
    },
    netConf(file, content) {
      writeFileSync(join(netDir, file), typeof content === 'string' ? content : JSON.stringify(content));
    },
    dispose() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  return h;
}

/** The header and rows of a printed table, split on runs of 2+ spaces. */
export function tableRows(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}
