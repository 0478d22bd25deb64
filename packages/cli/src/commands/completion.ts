import type { Argument, Command, Option } from 'commander';
import { DEFAULT_STATE_DIR, type CliContext } from '../context.js';
import { usageError } from '../flags.js';

/** The shells `switchyard completion SHELL` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/**
 * What a word takes, and so what TAB offers for it. The names come from the CLI itself when TAB is
 * pressed (`switchyard network ls --format '{{.Name}}'`), drivers and IPAMs from this build's list and the
 * plugin directory; `text` offers nothing (a new name, an address, a port spec).
 */
type ValueKind = 'network' | 'networks' | 'sandbox' | 'driver' | 'ipam' | 'plugin' | 'file' | 'dir' | 'shell' | 'command' | 'text';

/** Option values by long flag, wherever the option appears. */
const OPTION_VALUES: Readonly<Record<string, ValueKind>> = {
  '--driver': 'driver',
  '--ipam-driver': 'ipam',
  // run --net=a,b[:IP=x], all, none or host
  '--net': 'networks',
  '--sandbox': 'sandbox',
  '--from-file': 'file',
  '--netns': 'file',
  '--state-dir': 'dir',
  '--net-dir': 'dir',
  '--dir': 'dir',
};

/** The words `run --net` takes beside network names. */
const NET_KEYWORDS = ['all', 'none', 'host'];

/** What a positional argument takes: by its name, and for `names…` by the command group it is in. */
function argumentKind(path: readonly string[], arg: Argument): ValueKind {
  switch (arg.name()) {
    case 'network':
      return 'network';
    case 'sandbox':
      return 'sandbox';
    // cni add CONF: a .conf/.conflist file; plugin install PACKAGE: a name, a tarball or a directory.
    case 'conf':
    case 'package':
      return 'file';
    case 'shell':
      return 'shell';
    case 'command':
      return 'command';
    case 'names':
      return path[0] === 'network' ? 'network' : path[0] === 'sandbox' ? 'sandbox' : path[0] === 'plugin' ? 'plugin' : 'text';
    default:
      return 'text';
  }
}

interface OptionSpec {
  flags: string[];
  description: string;
  /** Undefined for a flag that takes no value. */
  value: ValueKind | undefined;
}

interface CommandSpec {
  path: string[];
  children: Array<{ name: string; aliases: string[]; description: string }>;
  /** The command's own options, then those of its parents (commander takes them after the subcommand too). */
  options: OptionSpec[];
  args: ValueKind[];
  variadic: boolean;
}

function optionSpec(option: Option): OptionSpec {
  const flags = [option.short, option.long].filter((f): f is string => f !== undefined);
  const takesValue = option.required || option.optional;
  return { flags, description: oneLine(option.description), value: takesValue ? (OPTION_VALUES[option.long ?? ''] ?? 'text') : undefined };
}

/** Every visible command of the tree, parents first. */
function commandSpecs(program: Command): CommandSpec[] {
  const specs: CommandSpec[] = [];
  const visit = (cmd: Command, path: string[], inherited: OptionSpec[]): void => {
    const help = cmd.createHelp();
    const own = help.visibleOptions(cmd).map(optionSpec);
    const ownFlags = new Set(own.flatMap((o) => o.flags));
    const children = help.visibleCommands(cmd);
    const args = cmd.registeredArguments;
    specs.push({
      path,
      children: children.map((c) => ({ name: c.name(), aliases: c.aliases(), description: oneLine(help.subcommandDescription(c)) })),
      options: [...own, ...inherited.filter((o) => !o.flags.some((f) => ownFlags.has(f)))],
      args: args.map((a) => argumentKind(path, a)),
      variadic: args.at(-1)?.variadic ?? false,
    });
    // --help and --version belong to the command they are given to; the rest is global.
    const passed = [...own.filter((o) => !o.flags.includes('--help') && !o.flags.includes('--version')), ...inherited];
    for (const child of children) visit(child, [...path, child.name()], passed);
  };
  visit(program, [], []);
  return specs;
}

/** What the runtime part of a script needs besides the command table. */
interface Values {
  drivers: Array<{ name: string; description: string }>;
  ipams: Array<{ name: string; description: string }>;
}

/**
 * `completion SHELL`: prints a completion script generated from the command table, so it lists exactly the
 * commands, aliases and options this version has. Names of networks and sandboxes are looked up when TAB is
 * pressed, by running `switchyard network ls` / `sandbox ls` with the --state-dir/--net-dir typed on the line.
 */
export async function completion(ctx: CliContext, shell: string, program: Command): Promise<void> {
  if (!isShell(shell)) {
    throw usageError(`No completion for the shell ${JSON.stringify(shell)}`, `Write switchyard completion bash or switchyard completion zsh (the shells it knows: ${COMPLETION_SHELLS.join(', ')}).`);
  }
  const { BUILTIN_DRIVERS, BUILTIN_IPAMS } = await import('@switchyard/cni');
  const values: Values = {
    drivers: BUILTIN_DRIVERS.map((d) => ({ name: d.type, description: oneLine(d.description ?? `${d.type} driver`) })),
    ipams: BUILTIN_IPAMS.map((i) => ({ name: i.name, description: oneLine(i.description ?? `${i.name} IPAM`) })),
  };
  const specs = commandSpecs(program);
  const script = shell === 'bash' ? bashScript(specs, values) : zshScript(specs, values);
  ctx.result(script, { shell, script });
}

function isShell(shell: string): shell is CompletionShell {
  return (COMPLETION_SHELLS as readonly string[]).includes(shell);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A word as bash and zsh read it back unchanged: bare when plainly safe, else in single quotes. */
function word(s: string): string {
  return /^[A-Za-z0-9_@./-][A-Za-z0-9_@%+=:,./-]*$/.test(s) ? s : quoted(s);
}

function quoted(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function words(list: readonly string[]): string {
  return list.map(word).join(' ');
}

/** `name:description` for zsh's _describe (a colon in the name is escaped). */
function described(name: string, description: string): string {
  return word(`${name.replaceAll(':', '\\:')}:${description}`);
}

/** The case arms of `_switchyard_spec PATH`, which set what the command at PATH takes. */
function specFunction(specs: readonly CommandSpec[], zsh: boolean): string {
  const arms = specs.map((s) => {
    const lines = [`  ${quoted(s.path.join(' '))})`];
    const subwords = s.children.flatMap((c) => [c.name, ...c.aliases]);
    if (subwords.length > 0) lines.push(`    _swy_words=(${words(subwords)})`);
    lines.push(`    _swy_opts=(${words(s.options.flatMap((o) => o.flags))})`);
    const vals = s.options.flatMap((o) => (o.value === undefined ? [] : o.flags.map((f) => `${f}=${o.value}`)));
    if (vals.length > 0) lines.push(`    _swy_vals=(${words(vals)})`);
    if (s.args.length > 0) lines.push(`    _swy_args=(${words(s.args)})`);
    if (s.variadic) lines.push('    _swy_variadic=1');
    if (zsh) {
      if (s.children.length > 0) lines.push(`    _swy_wdesc=(${s.children.flatMap((c) => [c.name, ...c.aliases].map((n) => described(n, c.description))).join(' ')})`);
      lines.push(`    _swy_odesc=(${s.options.flatMap((o) => o.flags.map((f) => described(f, o.description))).join(' ')})`);
    }
    lines.push('    ;;');
    return lines.join('\n');
  });
  return `# _switchyard_spec PATH: what the command at PATH takes (generated from the command table).
_switchyard_spec() {
  _swy_words=()
  _swy_opts=()
  _swy_vals=()
  _swy_args=()
  _swy_variadic=0${zsh ? '\n  _swy_wdesc=()\n  _swy_odesc=()' : ''}
  case $1 in
${arms.join('\n')}
  esac
}

# _switchyard_child PATH WORD: sets _swy_next to the command WORD (a name or an alias) names under PATH.
_switchyard_child() {
  case "$1|$2" in
${specs.flatMap((s) => s.children.map((c) => `  ${[c.name, ...c.aliases].map((n) => quoted(`${s.path.join(' ')}|${n}`)).join(' | ')}) _swy_next=${quoted([...s.path, c.name].join(' '))} ;;`)).join('\n')}
  *) return 1 ;;
  esac
}

# _switchyard_value FLAG: sets _swy_kind to what FLAG takes; fails for a flag that takes no value.
_switchyard_value() {
  local v
  for v in "\${_swy_vals[@]}"; do
    if [[ \${v%%=*} == "$1" ]]; then
      _swy_kind=\${v#*=}
      return 0
    fi
  done
  return 1
}`;
}

/**
 * The walk over the words before the cursor, shared by both shells: finds the command, the option whose
 * value is being typed, how many arguments came already, and the --state-dir/--net-dir to ask with.
 * `first` is the index of the first word after `switchyard`, `last` the index of the word being completed.
 */
function walk(array: string, first: number, last: string, splitsAtEquals: boolean): string {
  return `  _switchyard_spec ''
  for ((i = ${first}; i < ${last}; i++)); do
    word=\${${array}[i]}
    if ((dashdash)); then
      nargs=$((nargs + 1))
    elif [[ -n $expect ]]; then${
      splitsAtEquals
        ? `
      # bash hands "--opt=value" over as --opt, =, value (= is in COMP_WORDBREAKS)
      [[ $word == = ]] && continue`
        : ''
    }
      _switchyard_global "$expect" "$word"
      expect=''
    elif [[ $word == -- ]]; then
      dashdash=1
    elif [[ $word == --*=* ]]; then
      _switchyard_global "\${word%%=*}" "\${word#*=}"
    elif [[ $word == -?* ]]; then
      _switchyard_value "$word" && expect=$word
    elif ((nargs == 0)) && _switchyard_child "$cmdpath" "$word"; then
      cmdpath=$_swy_next
      _switchyard_spec "$cmdpath"
    else
      nargs=$((nargs + 1))
    fi
  done`;
}

function header(shell: CompletionShell): string {
  const install =
    shell === 'bash'
      ? `# switchyard bash completion. Install: add  eval "$(switchyard completion bash)"  to ~/.bashrc, or save it: switchyard completion bash > /etc/bash_completion.d/switchyard`
      : `# switchyard zsh completion. Install: add  source <(switchyard completion zsh)  to ~/.zshrc after compinit, or save it as _switchyard in a directory of $fpath`;
  return `${install}
# Generated from the command table by \`switchyard completion ${shell}\`: regenerate it after an upgrade.
# Network and sandbox names come from \`switchyard network ls\` and \`switchyard sandbox ls\` when TAB is pressed,
# with the --state-dir and --net-dir typed on the line (else SWITCHYARD_STATE_DIR / SWITCHYARD_NET_DIR).`;
}

function bashScript(specs: readonly CommandSpec[], values: Values): string {
  return `${header('bash')}

${specFunction(specs, false)}

# _switchyard_global FLAG VALUE: remembers --state-dir and --net-dir for the name look-ups.
_switchyard_global() {
  local p=$2
  # As typed: one level of quotes off and a leading ~/ expanded; never evaluated.
  case $p in
  \\"*\\" | \\'*\\') p=\${p:1:\${#p}-2} ;;
  esac
  [[ $p == '~' || $p == '~/'* ]] && p=$HOME\${p:1}
  case $1 in
  --state-dir) sd=$p ;;
  --net-dir) nd=$p ;;
  esac
}

# Adds each word that starts with the one being completed.
_switchyard_add() {
  local w
  for w in "$@"; do
    [[ $w == "$cur"* ]] && COMPREPLY+=("$pre$w")
  done
  return 0
}

# _switchyard_names network|sandbox: the names \`switchyard network|sandbox ls\` prints, one a line.
_switchyard_names() {
  local w bin=switchyard re='^[A-Za-z0-9][A-Za-z0-9_.-]*$'
  local -a g=()
  [[ \${COMP_WORDS[0]} == */* && -x \${COMP_WORDS[0]} ]] && bin=\${COMP_WORDS[0]}
  [[ -n $sd ]] && g+=(--state-dir "$sd")
  [[ -n $nd ]] && g+=(--net-dir "$nd")
  while IFS= read -r w; do
    [[ $w =~ $re ]] && _switchyard_add "$w"
  done < <("$bin" "\${g[@]}" "$1" ls --format '{{.Name}}' 2>/dev/null </dev/null)
  return 0
}

# _switchyard_plugins driver|ipam|package: installed plugins (<state-dir>/plugins): their types or package names.
_switchyard_plugins() {
  local base=\${sd:-\${SWITCHYARD_STATE_DIR:-${DEFAULT_STATE_DIR}}}/plugins/node_modules f name re='^(@[a-z0-9._~-]+/)?switchyard-(driver|ipam)-[a-z0-9._~-]+$'
  for f in "$base"/switchyard-* "$base"/@*/switchyard-*; do
    name=\${f#"$base"/}
    [[ -d $f && $name =~ $re ]] || continue
    case $1 in
    package) _switchyard_add "$name" ;;
    *) [[ $name == *switchyard-$1-* ]] && _switchyard_add "\${name/switchyard-$1-/}" ;;
    esac
  done
  return 0
}

# _switchyard_files -f|-d|-c: files, directories or commands, as bash completes them.
_switchyard_files() {
  local w
  [[ $1 != -c ]] && compopt -o filenames 2>/dev/null
  while IFS= read -r w; do
    COMPREPLY+=("$pre$w")
  done < <(compgen "$1" -- "$cur")
  return 0
}

_switchyard_values() {
  case $1 in
  network | sandbox) _switchyard_names "$1" ;;
  networks)
    # a,b,… : complete the last one
    pre=$pre\${cur%"\${cur##*,}"}
    cur=\${cur##*,}
    _switchyard_add ${words(NET_KEYWORDS)}
    _switchyard_names network
    ;;
  driver)
    _switchyard_add ${words(values.drivers.map((d) => d.name))}
    _switchyard_plugins driver
    ;;
  ipam)
    _switchyard_add ${words(values.ipams.map((d) => d.name))}
    _switchyard_plugins ipam
    ;;
  plugin) _switchyard_plugins package ;;
  file) _switchyard_files -f ;;
  dir) _switchyard_files -d ;;
  shell) _switchyard_add ${words(COMPLETION_SHELLS)} ;;
  command)
    # run [--] COMMAND ARGS…: a command, then files
    if ((nargs == 0)); then _switchyard_files -c; else _switchyard_files -f; fi
    ;;
  esac
  return 0
}

_switchyard() {
  local cur=\${COMP_WORDS[COMP_CWORD]} pre='' cmdpath='' word='' expect='' sd='' nd='' kind=''
  local i=0 nargs=0 dashdash=0
  local -a _swy_words _swy_opts _swy_vals _swy_args
  local _swy_variadic=0 _swy_next='' _swy_kind=''
  COMPREPLY=()
${walk('COMP_WORDS', 1, 'COMP_CWORD', true)}
  if [[ -n $expect ]]; then
    [[ $cur == = ]] && cur=''
    _switchyard_value "$expect"
    kind=$_swy_kind
  elif ((!dashdash)) && [[ $cur == -* ]]; then
    if [[ $cur != --*=* ]]; then
      _switchyard_add "\${_swy_opts[@]}"
      return 0
    fi
    _switchyard_value "\${cur%%=*}" || return 0
    kind=$_swy_kind
    pre=\${cur%%=*}=
    cur=\${cur#*=}
  elif ((nargs == 0 && \${#_swy_words[@]} > 0)); then
    _switchyard_add "\${_swy_words[@]}"
    return 0
  elif ((nargs < \${#_swy_args[@]})); then
    kind=\${_swy_args[nargs]}
  elif ((_swy_variadic && \${#_swy_args[@]} > 0)); then
    kind=\${_swy_args[\${#_swy_args[@]} - 1]}
  fi
  _switchyard_values "$kind"
}

complete -F _switchyard switchyard
`;
}

function zshScript(specs: readonly CommandSpec[], values: Values): string {
  return `#compdef switchyard
${header('zsh')}

${specFunction(specs, true)}

# _switchyard_global FLAG VALUE: remembers --state-dir and --net-dir for the name look-ups.
_switchyard_global() {
  # As typed: one level of quoting off and a leading ~/ expanded; never evaluated.
  local p=\${(Q)2}
  [[ $p == '~' || $p == '~/'* ]] && p=$HOME\${p:1}
  case $1 in
  --state-dir) sd=$p ;;
  --net-dir) nd=$p ;;
  esac
}

# _switchyard_names network|sandbox: the names \`switchyard network|sandbox ls\` prints, one a line.
_switchyard_names() {
  local w bin=switchyard re='^[A-Za-z0-9][A-Za-z0-9_.-]*$'
  local -a g names expl
  [[ $words[1] == */* && -x $words[1] ]] && bin=$words[1]
  [[ -n $sd ]] && g+=(--state-dir "$sd")
  [[ -n $nd ]] && g+=(--net-dir "$nd")
  for w in "\${(@f)$("$bin" "\${g[@]}" "$1" ls --format '{{.Name}}' 2>/dev/null </dev/null)}"; do
    [[ $w =~ $re ]] && names+=("$w")
  done
  _wanted "$1-names" expl "$1" compadd -a names
}

# _switchyard_plugins driver|ipam|package: installed plugins (<state-dir>/plugins): their types or package names.
_switchyard_plugins() {
  local base=\${sd:-\${SWITCHYARD_STATE_DIR:-${DEFAULT_STATE_DIR}}}/plugins/node_modules f name re='^(@[a-z0-9._~-]+/)?switchyard-(driver|ipam)-[a-z0-9._~-]+$'
  local -a found expl
  for f in "$base"/switchyard-*(N/) "$base"/@*/switchyard-*(N/); do
    name=\${f#"$base"/}
    [[ $name =~ $re ]] || continue
    case $1 in
    package) found+=("$name") ;;
    *) [[ $name == *switchyard-$1-* ]] && found+=("\${name/switchyard-$1-/}") ;;
    esac
  done
  _wanted "plugin-$1" expl "installed plugin" compadd -a found
}

_switchyard_values() {
  local -a expl list
  case $1 in
  network | sandbox) _switchyard_names "$1" ;;
  networks)
    # a,b,… : complete the last one
    compset -P '*,'
    list=(${words(NET_KEYWORDS)})
    _wanted net-keywords expl 'network keyword' compadd -a list
    _switchyard_names network
    ;;
  driver)
    list=(${values.drivers.map((d) => described(d.name, d.description)).join(' ')})
    _describe -t drivers 'driver' list
    _switchyard_plugins driver
    ;;
  ipam)
    list=(${values.ipams.map((d) => described(d.name, d.description)).join(' ')})
    _describe -t ipams 'IPAM driver' list
    _switchyard_plugins ipam
    ;;
  plugin) _switchyard_plugins package ;;
  file) _files ;;
  dir) _files -/ ;;
  shell)
    list=(${words(COMPLETION_SHELLS)})
    _wanted shells expl 'shell' compadd -a list
    ;;
  command)
    # run [--] COMMAND ARGS…: a command, then files
    if ((nargs == 0)); then _command_names -e; else _files; fi
    ;;
  esac
}

_switchyard() {
  local cur=$words[CURRENT] cmdpath='' word='' expect='' sd='' nd='' kind=''
  local i=0 nargs=0 dashdash=0
  local -a _swy_words _swy_opts _swy_vals _swy_args _swy_wdesc _swy_odesc
  local _swy_variadic=0 _swy_next='' _swy_kind=''
${walk('words', 2, 'CURRENT', false)}
  if [[ -n $expect ]]; then
    _switchyard_value "$expect"
    kind=$_swy_kind
  elif ((!dashdash)) && [[ $cur == -* ]]; then
    if [[ $cur != --*=* ]]; then
      _describe -t options 'option' _swy_odesc
      return
    fi
    _switchyard_value "\${cur%%=*}" || return 1
    kind=$_swy_kind
    compset -P 1 '*='
  elif ((nargs == 0 && $#_swy_wdesc > 0)); then
    _describe -t commands 'switchyard command' _swy_wdesc
    return
  elif ((nargs < $#_swy_args)); then
    kind=\${_swy_args[nargs + 1]}
  elif ((_swy_variadic && $#_swy_args > 0)); then
    kind=\${_swy_args[-1]}
  fi
  _switchyard_values "$kind"
}

if [[ $funcstack[1] == _switchyard ]]; then
  # autoloaded from $fpath
  _switchyard "$@"
elif (( $+functions[compdef] )); then
  compdef _switchyard switchyard
else
  print -u2 'switchyard completion: load compinit first (autoload -U compinit; compinit), then this script'
fi
`;
}
