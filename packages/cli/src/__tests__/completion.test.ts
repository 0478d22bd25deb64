import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { createSwitchyard } from '@switchyard/core';
import { FakeKernel } from '@switchyard/core/testing';
import { CliContext } from '../context.js';
import { runCli, type CliDeps } from '../main.js';
import { buildProgram } from '../program.js';

// `switchyard completion bash|zsh`: the scripts are loaded into real shells and asked what TAB offers.
// bash: COMP_WORDS/COMP_CWORD set and _switchyard called, as bash's programmable completion does.
// zsh: an interactive zsh in a pseudo-terminal (zsh/zpty) gets the line and a real TAB; a compadd
// wrapper writes down the matches the completion system was given.

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'switchyard.js');

let root: string;
let bashScript: string;
let zshScript: string;
/** Holds a fake `switchyard` that prints names, put first on PATH. */
let fakeBin: string;
/** Each line: the arguments one run of the fake got, joined by a tab. */
let fakeLog: string;
/** The file a name like `$(touch …)` would create if the script evaluated what the CLI prints. */
let pwned: string;

async function cli(argv: string[], env: Record<string, string | undefined> = {}, deps: CliDeps = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env }, deps);
  return { code, stdout, stderr };
}

function shellEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: `${fakeBin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: root, LANG: 'C', ...extra };
  return env;
}

/** What bash offers for the words typed (the last one is the word under the cursor, '' for a fresh one). */
function bashComplete(words: string[], options: { env?: Record<string, string>; script?: string } = {}): string[] {
  const driver = 'source "$1" || exit 99; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _switchyard; printf "%s\\n" "${COMPREPLY[@]}"';
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', driver, 'bash', options.script ?? bashScript, ...words], { env: shellEnv(options.env), encoding: 'utf8' });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  return r.stdout.split('\n').filter((l) => l !== '');
}

function fakeRuns(): string[][] {
  return existsSync(fakeLog)
    ? readFileSync(fakeLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t'))
    : [];
}

/** Every command of the tree with its path, as commander has it. */
function commands(program: Command, path: string[] = []): Array<{ path: string[]; cmd: Command }> {
  return [{ path, cmd: program }, ...program.commands.flatMap((c) => commands(c, [...path, c.name()]))];
}

function treeProgram(): Command {
  return buildProgram(new CliContext({ stdout: { write: () => true }, stderr: { write: () => true }, env: {} }, {}, false), '0.0.0');
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'swy-completion-'));
  const bash = await cli(['completion', 'bash']);
  const zsh = await cli(['completion', 'zsh']);
  if (bash.code !== 0 || zsh.code !== 0) throw new Error(`switchyard completion failed: ${bash.stderr}${zsh.stderr}`);
  bashScript = join(root, 'switchyard.bash');
  writeFileSync(bashScript, bash.stdout);
  zshScript = join(root, 'switchyard.zsh');
  writeFileSync(zshScript, zsh.stdout);

  fakeBin = join(root, 'fake-bin');
  mkdirSync(fakeBin);
  fakeLog = join(root, 'fake.log');
  pwned = join(root, 'pwned');
  // Network names include what no name can be: a command substitution, a space, a glob, a leading dash.
  writeFileSync(
    join(fakeBin, 'switchyard'),
    `#!/bin/sh
(IFS=$(printf '\\t'); printf '%s\\n' "$*") >> '${fakeLog}'
for a; do
  case $a in
  network) printf '%s\\n' frontend backend 'front end' '$(touch ${pwned})' '*' -rf db.v2 ;;
  sandbox) printf '%s\\n' web1 web2 ;;
  esac
done
`,
  );
  chmodSync(join(fakeBin, 'switchyard'), 0o755);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(() => rmSync(fakeLog, { force: true }));

describe('switchyard completion', () => {
  test('the bash script starts with a comment saying how to install it, and registers _switchyard for switchyard', () => {
    const first = readFileSync(bashScript, 'utf8').split('\n')[0];
    expect(first).toMatch(/^# /);
    expect(first).toContain('eval "$(switchyard completion bash)"');
    expect(first).toContain('~/.bashrc');
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', 'source "$1" && complete -p switchyard', 'bash', bashScript], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('complete -F _switchyard switchyard');
  });

  test('an unknown shell is a usage error whose hint names bash and zsh', async () => {
    const r = await cli(['completion', 'fish']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('"fish"');
    expect(r.stderr).toMatch(/hint: .*bash.*zsh/);
  });

  test('--json wraps the script', async () => {
    const r = await cli(['completion', 'bash', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('{')).toBe(true);
    expect(JSON.parse(r.stdout)).toEqual({ shell: 'bash', script: readFileSync(bashScript, 'utf8') });
  });
});

describe('bash completion', () => {
  test('commands: a prefix, every top-level command, the subcommands of a group with their aliases', () => {
    expect(bashComplete(['switchyard', 'net'])).toEqual(['network']);
    expect(bashComplete(['switchyard', 'sand'])).toEqual(['sandbox']);
    expect(bashComplete(['switchyard', ''])).toEqual(treeProgram().commands.map((c) => c.name()));
    expect(bashComplete(['switchyard', 'network', ''])).toEqual(['create', 'ls', 'list', 'inspect', 'rm', 'remove', 'prune', 'connect', 'disconnect']);
    expect(bashComplete(['switchyard', 'sandbox', 'r'])).toEqual(['rm', 'remove']);
    expect(bashComplete(['switchyard', 'plugin', ''])).toEqual(['install', 'ls', 'list', 'rm', 'remove']);
    // Global options before the command do not hide it.
    expect(bashComplete(['switchyard', '--json', '--state-dir', '/tmp/x', 'network', 'c'])).toEqual(['create', 'connect']);
  });

  test('options: long and short, the command own and the global ones', () => {
    expect(bashComplete(['switchyard', 'network', 'create', '--dr'])).toEqual(['--driver']);
    expect(bashComplete(['switchyard', 'network', 'create', '--from'])).toEqual(['--from-file']);
    const ls = bashComplete(['switchyard', 'sandbox', 'ls', '-']);
    expect(ls).toEqual(expect.arrayContaining(['-q', '--quiet', '-f', '--filter', '--format', '-h', '--help', '--json', '--state-dir', '--net-dir']));
    expect(ls).not.toContain('--driver');
    // An alias takes the options of its command.
    expect(bashComplete(['switchyard', 'sandbox', 'list', '-'])).toEqual(ls);
    expect(bashComplete(['switchyard', '--'])).toEqual(['--json', '--state-dir', '--net-dir', '--etcd', '--etcd-cacert', '--etcd-cert', '--etcd-key', '--host-name', '--version', '--help']);
  });

  test('every command of the tree offers exactly its options and the global ones, so the script cannot drift from the commands', () => {
    const program = treeProgram();
    const globals = ['--json', '--state-dir', '--net-dir', '--etcd', '--etcd-cacert', '--etcd-cert', '--etcd-key', '--host-name'];
    const flagsOf = (cmd: Command) => cmd.options.flatMap((o) => [o.short, o.long]).filter((f): f is string => f !== undefined);
    for (const { path, cmd } of commands(program)) {
      const offered = bashComplete(['switchyard', ...path, '-']);
      const expected = path.length === 0 ? [...flagsOf(cmd), '-h', '--help'] : [...flagsOf(cmd), '-h', '--help', ...globals];
      expect({ path, offered: [...offered].sort() }).toEqual({ path, offered: [...new Set(expected)].sort() });
    }
    const groups = commands(program).filter(({ cmd }) => cmd.commands.length > 0);
    expect(groups.map(({ path }) => path.join(' '))).toEqual(['', 'network', 'sandbox', 'firewall', 'port', 'cni', 'plugin']);
    for (const { path, cmd } of groups) {
      expect({ path, sub: bashComplete(['switchyard', ...path, '']) }).toEqual({ path, sub: cmd.commands.flatMap((c) => [c.name(), ...c.aliases()]) });
    }
  });

  test('--driver offers the built-in drivers and the plugins installed in the state dir', () => {
    expect(bashComplete(['switchyard', 'network', 'create', 'lan', '--driver', ''])).toEqual(['bridge', 'veth', 'macvlan', 'ipvlan']);
    expect(bashComplete(['switchyard', 'network', 'create', '-d', 'm'])).toEqual(['macvlan']);
    // --driver=… reaches the function as --driver, =, … (bash splits at =) or whole.
    expect(bashComplete(['switchyard', 'network', 'create', '--driver', '='])).toEqual(['bridge', 'veth', 'macvlan', 'ipvlan']);
    expect(bashComplete(['switchyard', 'network', 'create', '--driver', '=', 'ip'])).toEqual(['ipvlan']);
    expect(bashComplete(['switchyard', 'network', 'create', '--driver=v'])).toEqual(['--driver=veth']);

    const state = join(root, 'plugin-state');
    for (const pkg of ['switchyard-driver-ptp-lite', '@acme/switchyard-driver-vxlan', 'switchyard-ipam-dhcp', 'left-pad', '@switchyard/core']) mkdirSync(join(state, 'plugins', 'node_modules', pkg), { recursive: true });
    expect(bashComplete(['switchyard', '--state-dir', state, 'network', 'create', '--driver', ''])).toEqual(['bridge', 'veth', 'macvlan', 'ipvlan', 'ptp-lite', '@acme/vxlan']);
    expect(bashComplete(['switchyard', 'network', 'create', '--driver', 'p'], { env: { SWITCHYARD_STATE_DIR: state } })).toEqual(['ptp-lite']);
    expect(bashComplete(['switchyard', 'network', 'create', '--ipam-driver', ''], { env: { SWITCHYARD_STATE_DIR: state } })).toEqual(['host-local', 'dhcp']);
    expect(bashComplete(['switchyard', 'plugin', 'rm', ''], { env: { SWITCHYARD_STATE_DIR: state } })).toEqual(['switchyard-driver-ptp-lite', 'switchyard-ipam-dhcp', '@acme/switchyard-driver-vxlan']);
  });

  test('network and sandbox names come from the CLI: only real names, never evaluated', () => {
    expect(bashComplete(['switchyard', 'connect', ''])).toEqual(['frontend', 'backend', 'db.v2']);
    expect(fakeRuns()).toEqual([['network', 'ls', '--format', '{{.Name}}']]);
    expect(existsSync(pwned)).toBe(false);
    expect(bashComplete(['switchyard', 'connect', 'frontend', ''])).toEqual(['web1', 'web2']);
    expect(bashComplete(['switchyard', 'connect', 'frontend', 'web1', ''])).toEqual([]);
    expect(bashComplete(['switchyard', 'network', 'connect', 'f'])).toEqual(['frontend']);
    expect(bashComplete(['switchyard', 'disconnect', 'b'])).toEqual(['backend']);
    expect(bashComplete(['switchyard', 'network', 'inspect', 'frontend', 'b'])).toEqual(['backend']);
    expect(bashComplete(['switchyard', 'network', 'rm', ''])).toEqual(['frontend', 'backend', 'db.v2']);
    expect(bashComplete(['switchyard', 'network', 'remove', 'd'])).toEqual(['db.v2']);
    expect(bashComplete(['switchyard', 'sandbox', 'inspect', ''])).toEqual(['web1', 'web2']);
    expect(bashComplete(['switchyard', 'sandbox', 'rm', 'web1', 'w'])).toEqual(['web1', 'web2']);
    expect(bashComplete(['switchyard', 'run', '--sandbox', 'w'])).toEqual(['web1', 'web2']);
    expect(bashComplete(['switchyard', 'run', '--net', ''])).toEqual(['all', 'none', 'host', 'frontend', 'backend', 'db.v2']);
    expect(bashComplete(['switchyard', 'run', '--net', '=', 'frontend,b'])).toEqual(['frontend,backend']);
    expect(bashComplete(['switchyard', 'run', '--net=frontend,d'])).toEqual(['--net=frontend,db.v2']);
    // A new name is not completed from the existing ones.
    expect(bashComplete(['switchyard', 'network', 'create', ''])).toEqual([]);
    expect(bashComplete(['switchyard', 'sandbox', 'create', ''])).toEqual([]);
    expect(existsSync(pwned)).toBe(false);
  });

  test('the --state-dir and --net-dir typed on the line go to the name look-up', () => {
    expect(bashComplete(['switchyard', '--state-dir', '/srv/swy state', '--net-dir=/etc/nets', 'connect', 'x', ''])).toEqual(['web1', 'web2']);
    expect(fakeRuns()).toEqual([['--state-dir', '/srv/swy state', '--net-dir', '/etc/nets', 'sandbox', 'ls', '--format', '{{.Name}}']]);
    rmSync(fakeLog);
    // As bash hands them over: quotes as typed, = split off.
    expect(bashComplete(['switchyard', 'network', 'rm', '--state-dir', '=', `'/srv/a b'`, 'f'])).toEqual(['frontend']);
    expect(bashComplete(['switchyard', 'connect', '--state-dir', '~/swy', 'f'])).toEqual(['frontend']);
    expect(fakeRuns()).toEqual([
      ['--state-dir', '/srv/a b', 'network', 'ls', '--format', '{{.Name}}'],
      ['--state-dir', `${root}/swy`, 'network', 'ls', '--format', '{{.Name}}'],
    ]);
  });

  test('the look-ups the script runs are commands the real CLI accepts, on an empty state dir', async () => {
    const stateDir = join(root, 'empty-state');
    bashComplete(['switchyard', '--state-dir', stateDir, 'connect', 'x', '']);
    bashComplete(['switchyard', '--state-dir', stateDir, '--net-dir', join(root, 'no-net.d'), 'connect', '']);
    const runs = fakeRuns();
    expect(runs.map((r) => r.slice(-4, -2))).toEqual([
      ['sandbox', 'ls'],
      ['network', 'ls'],
    ]);
    for (const argv of runs) expect(await cli(argv, { PATH: process.env.PATH })).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  test('with the real CLI on PATH, connect offers the networks and sandboxes of the state dir', async () => {
    // The bin runs the build (scripts/test.mjs builds before every phase).
    expect(existsSync(join(dirname(BIN), '..', 'dist', 'main.js'))).toBe(true);
    const stateDir = join(root, 'real-state');
    const netDir = join(root, 'real-net.d');
    mkdirSync(netDir);
    // Created through the CLI on a fake kernel, into a real state dir the bin then reads.
    const fake = new FakeKernel();
    const deps: CliDeps = { hasPrivileges: () => true, firewall: () => undefined, createSwitchyard: (o) => createSwitchyard({ ...o, kernel: fake, recover: false, autoloadPlugins: false }) };
    const env = { SWITCHYARD_STATE_DIR: stateDir, SWITCHYARD_NET_DIR: netDir };
    for (const argv of [
      ['network', 'create', 'frontend', '--subnet', '10.88.0.0/24'],
      ['network', 'create', 'backend', '--driver', 'veth', '--subnet', '10.89.0.0/24'],
      ['sandbox', 'create', 'web1'],
    ]) {
      expect(await cli(argv, env, deps)).toMatchObject({ code: 0, stderr: '' });
    }
    const realBin = join(root, 'real-bin');
    mkdirSync(realBin);
    writeFileSync(join(realBin, 'switchyard'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
    chmodSync(join(realBin, 'switchyard'), 0o755);
    const onPath = { PATH: `${realBin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    expect(bashComplete(['switchyard', 'connect', ''], { env: { ...onPath, ...env } })).toEqual(['backend', 'frontend']);
    expect(bashComplete(['switchyard', '--state-dir', stateDir, '--net-dir', netDir, 'connect', 'frontend', ''], { env: onPath })).toEqual(['web1']);
    expect(bashComplete(['switchyard', '--state-dir', join(root, 'nothing-here'), 'connect', ''], { env: onPath })).toEqual([]);
  });

  test('files for --from-file and cni add CONF, directories for --state-dir, bash and zsh for completion', () => {
    const confs = join(root, 'confs');
    mkdirSync(join(confs, 'sub dir'), { recursive: true });
    writeFileSync(join(confs, 'web.conf'), '{}');
    writeFileSync(join(confs, 'db.conflist'), '{}');
    expect(bashComplete(['switchyard', 'network', 'create', '--from-file', `${confs}/w`])).toEqual([`${confs}/web.conf`]);
    expect(bashComplete(['switchyard', 'cni', 'add', `${confs}/`]).sort()).toEqual([`${confs}/db.conflist`, `${confs}/sub dir`, `${confs}/web.conf`]);
    expect(bashComplete(['switchyard', 'cni', 'add', `${confs}/web.conf`, 'w'])).toEqual(['web1', 'web2']);
    expect(bashComplete(['switchyard', '--state-dir', `${confs}/`])).toEqual([`${confs}/sub dir`]);
    expect(bashComplete(['switchyard', 'completion', ''])).toEqual(['bash', 'zsh']);
    expect(bashComplete(['switchyard', 'completion', 'z'])).toEqual(['zsh']);
    // run: the command after --, then its arguments as files.
    expect(bashComplete(['switchyard', 'run', '--net', 'frontend', '--', 'bas'])).toContain('bash');
    expect(bashComplete(['switchyard', 'run', '--', 'cat', `${confs}/d`])).toEqual([`${confs}/db.conflist`]);
  });
});

/** zsh from PATH, or undefined. */
function zshPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v zsh'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

// The zsh side of the pseudo-terminal: completion system, the script, and a compadd that writes its matches down.
const ZSH_SETUP = `PS1='> '
autoload -Uz compinit
if [[ -n $SWY_FPATH ]]; then fpath=("$SWY_FPATH" $fpath); fi
compinit -u -D
if [[ -n $SWY_SCRIPT ]]; then source "$SWY_SCRIPT"; fi
bindkey '^I' complete-word
zstyle ':completion:*' list-prompt ''
LISTMAX=100000
compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then
    builtin compadd "$@"
    return
  fi
  local -a __swy_hits
  builtin compadd -O __swy_hits "$@"
  (( $#__swy_hits )) && print -rl -- $__swy_hits >> "$SWY_CAPTURE"
  builtin compadd "$@"
}
_swy_done() { print -r -- "__SWY_""DONE__" }
comppostfuncs=(_swy_done)
print -r -- "__SWY_""READY__"
`;

// The driving zsh: starts an interactive zsh in a pty, types the line and a TAB, waits for the completion to end.
const ZSH_DRIVE = `zmodload zsh/zpty || exit 5
zpty swy zsh -f -i
zpty -w swy "source \${(q)SWY_SETUP}"
zpty -r -m swy line '*__SWY_READY__*' || { print -u2 "zsh did not start: $line"; exit 3 }
zpty -w -n swy "$1"$'\\t'
zpty -r -m swy line '*__SWY_DONE__*' || { print -u2 "no completion ran: $line"; exit 4 }
zpty -d swy
`;

describe('zsh completion', () => {
  const zsh = zshPath();
  let setup: string;
  let drive: string;
  let capture: string;

  beforeAll(() => {
    setup = join(root, 'setup.zsh');
    drive = join(root, 'drive.zsh');
    capture = join(root, 'capture');
    writeFileSync(setup, ZSH_SETUP);
    writeFileSync(drive, ZSH_DRIVE);
  });

  /** The matches zsh's completion system gets when TAB is pressed at the end of `line`. */
  function zshComplete(line: string, env: Record<string, string> = { SWY_SCRIPT: zshScript }): string[] {
    writeFileSync(capture, '');
    const r = spawnSync(zsh ?? 'zsh', ['-f', drive, line], { env: shellEnv({ SWY_SETUP: setup, SWY_CAPTURE: capture, ...env }), encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    return [...new Set(readFileSync(capture, 'utf8').split('\n').filter(Boolean))];
  }

  test('zsh is installed (scripts/setup.sh installs it), so that these tests run', () => {
    expect(zsh).toMatch(/zsh$/);
  });

  test('the script starts with #compdef, loads without a word after compinit, and says to run compinit without it', () => {
    expect(readFileSync(zshScript, 'utf8').split('\n').slice(0, 2)).toEqual(['#compdef switchyard', expect.stringMatching(/^# .*source <\(switchyard completion zsh\)/)]);
    const loaded = spawnSync('zsh', ['-f', '-c', 'autoload -Uz compinit; compinit -u -D; source "$1" && print -r -- $_comps[switchyard]', 'zsh', zshScript], { encoding: 'utf8' });
    expect({ status: loaded.status, stdout: loaded.stdout, stderr: loaded.stderr }).toEqual({ status: 0, stdout: '_switchyard\n', stderr: '' });
    const bare = spawnSync('zsh', ['-f', '-c', 'source "$1"', 'zsh', zshScript], { encoding: 'utf8' });
    expect(bare.stderr).toContain('compinit');
  });

  test('commands, subcommands with aliases, and options', () => {
    expect(zshComplete('switchyard net')).toEqual(['network']);
    expect(zshComplete('switchyard ').sort()).toEqual(
      treeProgram()
        .commands.map((c) => c.name())
        .sort(),
    );
    expect(zshComplete('switchyard network ').sort()).toEqual(['connect', 'create', 'disconnect', 'inspect', 'list', 'ls', 'prune', 'remove', 'rm']);
    expect(zshComplete('switchyard network create --dr')).toEqual(['--driver']);
    expect(zshComplete('switchyard sandbox ls -')).toEqual(expect.arrayContaining(['-q', '--quiet', '--filter', '--format', '--json', '--state-dir']));
  });

  test('values: drivers, network and sandbox names from the CLI, run --net lists, files, shells', () => {
    expect(zshComplete('switchyard network create x --driver ')).toEqual(['bridge', 'veth', 'macvlan', 'ipvlan']);
    expect(zshComplete('switchyard network create x --driver=ip')).toEqual(['ipvlan']);
    expect(zshComplete('switchyard connect ')).toEqual(['frontend', 'backend', 'db.v2']);
    expect(existsSync(pwned)).toBe(false);
    expect(zshComplete("switchyard --state-dir '/srv/a b' connect frontend ")).toEqual(['web1', 'web2']);
    expect(fakeRuns()).toContainEqual(['--state-dir', '/srv/a b', 'sandbox', 'ls', '--format', '{{.Name}}']);
    expect(zshComplete('switchyard network rm frontend b')).toEqual(['backend']);
    expect(zshComplete('switchyard run --sandbox ')).toEqual(['web1', 'web2']);
    expect(zshComplete('switchyard run --net=frontend,b')).toEqual(['backend']);
    expect(zshComplete('switchyard completion ')).toEqual(['bash', 'zsh']);
    const confs = join(root, 'zsh-confs');
    mkdirSync(confs);
    writeFileSync(join(confs, 'web.conf'), '{}');
    expect(zshComplete(`switchyard cni add ${confs}/`)).toEqual(['web.conf']);
    expect(zshComplete(`switchyard network create --from-file ${confs}/w`)).toEqual(['web.conf']);
  });

  test('saved as _switchyard in a directory of fpath, compinit picks it up', () => {
    const dir = join(root, 'site-functions');
    mkdirSync(dir);
    writeFileSync(join(dir, '_switchyard'), readFileSync(zshScript));
    expect(zshComplete('switchyard sandbox r', { SWY_FPATH: dir }).sort()).toEqual(['remove', 'rm']);
    expect(zshComplete('switchyard connect f', { SWY_FPATH: dir })).toEqual(['frontend']);
  });
});
