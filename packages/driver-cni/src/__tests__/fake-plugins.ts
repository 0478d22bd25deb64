import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Fake CNI plugins for unit tests: small node scripts that log every call (command, environment, stdin)
 * and answer as the config's `fake` field says. They change no kernel.
 *
 * - VERSION answers with the versions given when the plugin was made.
 * - ADD passes `prevResult` on when there is one, else makes a result: the interface CNI_IFNAME with the
 *   MAC from runtimeConfig.mac (or `fake.mac`), and runtimeConfig.ips[0] (or `fake.address`) on it.
 * - `fake.fail: { COMMAND: { code, msg, details } }` prints that error object and exits 1;
 *   `fake.stderr: { COMMAND: text }` prints text on stderr and exits 2.
 */
const SCRIPT = String.raw`
const { appendFileSync, readFileSync } = require('node:fs');
const { basename } = require('node:path');
const side = JSON.parse(readFileSync(process.argv[1] + '.json', 'utf8'));
const input = readFileSync(0, 'utf8');
const env = process.env;
const stdin = input ? JSON.parse(input) : {};
const command = env.CNI_COMMAND;
appendFileSync(side.log, JSON.stringify({ plugin: basename(process.argv[1]), command, containerId: env.CNI_CONTAINERID, netns: env.CNI_NETNS, ifname: env.CNI_IFNAME, args: env.CNI_ARGS, path: env.CNI_PATH, stdin }) + '\n');
if (command === 'VERSION') {
  process.stdout.write(JSON.stringify({ cniVersion: stdin.cniVersion, supportedVersions: side.versions }));
  process.exit(0);
}
const fake = stdin.fake ?? {};
if (fake.fail && fake.fail[command]) {
  process.stdout.write(JSON.stringify({ cniVersion: stdin.cniVersion, ...fake.fail[command] }));
  process.exit(1);
}
if (fake.stderr && fake.stderr[command]) {
  process.stderr.write(fake.stderr[command]);
  process.exit(2);
}
if (command === 'ADD') {
  if (stdin.prevResult) {
    process.stdout.write(JSON.stringify(stdin.prevResult));
  } else {
    const rc = stdin.runtimeConfig ?? {};
    const ip = rc.ips ? rc.ips[0] + '/24' : (fake.address ?? '10.1.0.5/24');
    process.stdout.write(JSON.stringify({
      cniVersion: stdin.cniVersion,
      interfaces: [{ name: 'host-' + env.CNI_IFNAME }, { name: env.CNI_IFNAME, mac: rc.mac ?? fake.mac ?? '02:42:0a:01:00:05', sandbox: env.CNI_NETNS }],
      ips: [{ address: ip, gateway: '10.1.0.1', interface: 1 }],
    }));
  }
}
`;

export interface LoggedCall {
  plugin: string;
  command: string;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  path?: string;
  stdin: Record<string, unknown>;
}

export interface FakePlugins {
  /** The CNI path holding them. */
  dir: string;
  /** Every call so far, in order. */
  calls(): LoggedCall[];
  /** Forgets the calls so far. */
  reset(): void;
  remove(): void;
}

/** Makes fake plugins by name, each supporting the given versions (default 0.3.1-1.1.0). */
export function makeFakePlugins(plugins: Record<string, string[] | undefined>): FakePlugins {
  const dir = mkdtempSync(join(tmpdir(), 'swy-fake-cni-'));
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  for (const [name, versions] of Object.entries(plugins)) {
    const file = join(dir, name);
    writeFileSync(file, `#!${process.execPath}\n${SCRIPT}`);
    chmodSync(file, 0o755);
    writeFileSync(`${file}.json`, JSON.stringify({ log, versions: versions ?? ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] }));
  }
  return {
    dir,
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as LoggedCall),
    reset: () => writeFileSync(log, ''),
    remove: () => {
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
