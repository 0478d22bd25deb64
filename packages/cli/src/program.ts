import { Command } from 'commander';
import type { CniToolFlags } from './commands/cni.js';
import type { ListFlags } from './output/list-options.js';
import type { ConnectFlags } from './commands/connect.js';
import type { NetworkCreateFlags } from './commands/network.js';
import type { PluginInstallFlags } from './commands/plugin.js';
import type { PruneFlags } from './commands/prune.js';
import type { RunFlags } from './commands/run.js';
import type { SandboxCreateFlags } from './commands/sandbox.js';
import { GLOBAL_OPTIONS, type CliContext, type GlobalFlags } from './context.js';

/** Commander's error class, for runCli (which loads commander through this module only). */
export { CommanderError } from 'commander';

// The command table. Only commander (and context.js's constants) is loaded here: each action imports its module when it runs.

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `<group> prune`: Docker's confirmation flag and prune filters, the same for networks and sandboxes. */
function addPrune(group: Command, what: string, description: string, action: (opts: PruneFlags) => Promise<void>): void {
  group
    .command('prune')
    .description(description)
    .option('-f, --force', 'do not ask for confirmation')
    .option('--filter <key=value>', `only ${what} matching: label=KEY[=VALUE], label!=KEY[=VALUE], until=DURATION|TIMESTAMP (repeatable)`, collect)
    .action(action);
}

const NETWORK_EXAMPLES = `
Examples:
  switchyard network create frontend --subnet 10.88.0.0/24
  switchyard network create backend --driver veth --subnet 10.89.0.0/24
  switchyard network create lan --driver macvlan -o master=eth1 -o mode=bridge
  switchyard network create web --from-file ./web.conf
  switchyard network ls --json`;

const SANDBOX_EXAMPLES = `
Examples:
  switchyard sandbox create web1
  switchyard sandbox create web1 --hostname web1.local --dns 10.88.0.1
  switchyard sandbox create web2 --expose http=80 --expose dns=53/udp   (then: connect bridge web2 -p http:8080)
  switchyard sandbox create loner --none
  switchyard sandbox create adopt --netns /proc/4242/ns/net`;

const CONNECT_EXAMPLES = `
Examples:
  switchyard connect frontend web1
  switchyard connect frontend web2 --ip 10.88.0.20 --alias api --priority 10
  switchyard connect frontend web3 -p 8080:80 -p 127.0.0.1:5353:53/udp
  switchyard connect frontend web4 -p 8443:443 --allow-from 192.168.0.0/16
  switchyard connect frontend web5 -p http:8888          (web5 created with --expose http=80)`;

const RUN_EXAMPLES = `
Examples:
  switchyard run --net=frontend -- ping -c1 10.88.0.3
  switchyard run --net=frontend:IP=10.88.0.50,backend -- ip -br addr
  switchyard run --net=all -- ip route
  switchyard run --net=none -- ip link
  switchyard run --net=host -- ip -br link

  switchyard sandbox create pod1 && switchyard connect frontend pod1
  switchyard run --sandbox pod1 -- sleep 600 &      (several commands share one sandbox, as in a pod)
  switchyard run --sandbox pod1 -- ip -br addr

Networks named in net.d or rkt's presets are created on first use. When the list names neither
"default" nor "default-restricted", rkt's rule adds "default-restricted" ("default" with --net=all).
Without --net, the sandbox joins "default".

The command sees the sandbox's /etc/hosts, /etc/resolv.conf and hostname (a private mount and UTS
namespace; the host's are untouched; --net=host keeps the host's). With --sandbox the sandbox stays.
Exit status, as docker run: 125 when run itself fails, 126 when the command cannot be executed,
127 when it is not found, otherwise the command's own (128+n when killed by signal n).`;

const PLUGIN_EXAMPLES = `
Examples:
  switchyard plugin install switchyard-driver-ptp-lite
  switchyard plugin install switchyard-driver-ptp-lite@^0.1.0 --registry http://127.0.0.1:4873
  switchyard plugin install ./switchyard-driver-ptp-lite-0.1.0.tgz
  switchyard plugin ls
  switchyard plugin rm switchyard-driver-ptp-lite`;

/** Builds the `switchyard` command tree; actions report through `ctx`. */
export function buildProgram(ctx: CliContext, version: string): Command {
  const program = new Command('switchyard').description('Container networking in the CNM model: networks, sandboxes and the endpoints joining them.');
  for (const o of GLOBAL_OPTIONS) program.option(o.flags, o.description);
  program
    .version(ctx.json ? JSON.stringify({ version }) : version, '-V, --version', 'print the version')
    .configureOutput({
      writeOut: (s) => void ctx.io.stdout.write(s),
      writeErr: (s) => void ctx.io.stderr.write(s),
      // runCli prints usage errors itself, in the CLI's error format.
      outputError: () => {},
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .helpCommand(false);
  program.hook('preAction', (_root, action) => ctx.setGlobals(action.optsWithGlobals<GlobalFlags>()));

  const network = program.command('network').description('create, list, inspect and remove networks').helpCommand(false);
  network
    .command('create')
    .argument('[name]', 'network name (default: the name in --from-file)')
    .description('create a network')
    .option('-d, --driver <type>', 'driver: bridge, veth, macvlan, ipvlan or a plugin type (default: bridge)')
    .option('--subnet <cidr>', 'IPv4 subnet, e.g. 10.88.0.0/24 (default: a free pool)')
    .option('--gateway <ip>', 'IPv4 gateway (default: the first address)')
    .option('--ip-range <cidr>', 'hand out sandbox addresses from this part of the subnet (a static --ip may be anywhere in the subnet)')
    .option('--aux-address <name=ip>', 'an address of the subnet never given to a sandbox, e.g. my-router=10.88.0.5 (repeatable)', collect)
    .option('--ipam-driver <name>', 'IPAM driver (default: host-local)')
    .option('--ipam-opt <k=v>', 'IPAM driver option (repeatable), e.g. --ipam-opt dataDir=/var/lib/cni/networks', collect)
    .option('--ipv6', 'enable IPv6 (dual stack)')
    .option('--subnet6 <cidr>', 'IPv6 subnet, e.g. fd00:88::/64 (implies --ipv6)')
    .option('--gateway6 <ip>', 'IPv6 gateway')
    .option('--internal', 'no default route towards the gateway, no masquerade')
    .option('--disable-dns', "no DNS responder for this network's sandboxes (on by default for bridge and veth networks)")
    .option('--dns', 'a DNS responder on the gateway answering the names of its sandboxes (bridge and veth only; the default there)')
    .option('--label <k=v>', 'label (repeatable)', collect)
    .option('-o, --opt <k=v>', 'driver option (repeatable), e.g. -o mtu=1400', collect)
    .option('--from-file <conf>', 'take the network from an rkt/CNI conf file')
    .addHelpText('after', NETWORK_EXAMPLES)
    .action(async (name: string | undefined, opts: NetworkCreateFlags) => (await import('./commands/network.js')).networkCreate(ctx, name, opts));
  network
    .command('ls')
    .alias('list')
    .description('list networks (and those net.d declares but nothing used yet)')
    .option('-q, --quiet', 'only the network ids')
    .option('-f, --filter <key=value>', 'only networks matching: name, id, driver, label=KEY[=VALUE], scope (repeatable)', collect)
    .option('--format <template>', 'one line per network from a template: {{.Name}} {{.ID}} {{.Driver}} {{.Subnet}} {{.Gateway}} {{.Label "k"}} {{json .}}')
    .action(async (opts: ListFlags) => (await import('./commands/network.js')).networkList(ctx, opts));
  network
    .command('inspect')
    .argument('<names...>', 'network names or ids')
    .description('show networks and the sandboxes connected to them')
    .action(async (names: string[]) => (await import('./commands/network.js')).networkInspect(ctx, names));
  network
    .command('rm')
    .alias('remove')
    .argument('<names...>', 'network names or ids')
    .description('remove networks that have no connected sandboxes')
    .action(async (names: string[]) => (await import('./commands/network.js')).networkRemove(ctx, names));
  addPrune(network, 'networks', 'remove every network no sandbox is connected to', async (opts) => (await import('./commands/prune.js')).networkPrune(ctx, opts));

  const sandbox = program.command('sandbox').description('create, list, inspect and remove sandboxes (network namespaces)').helpCommand(false);
  sandbox
    .command('create')
    .argument('<name>', 'sandbox name (a new namespace appears at /run/netns/<name>)')
    .description('create a sandbox')
    .option('--none', 'loopback only; cannot join networks')
    .option('--host', "share the host's namespace")
    .option('--netns <path>', 'adopt an existing namespace file, e.g. /proc/<pid>/ns/net')
    .option('--pid <n>', 'adopt the namespace of a process')
    .option('--hostname <name>', 'hostname written to the sandbox hosts file (default: the name)')
    .option('--dns <ip>', 'nameserver for the sandbox resolv.conf (repeatable)', collect)
    .option('--expose <name=port>', "declare a named port, NAME=PORT[/tcp|udp|sctp], published with -p NAME:HOST_PORT (rkt's named ports; repeatable)", collect)
    .addHelpText('after', SANDBOX_EXAMPLES)
    .action(async (name: string, opts: SandboxCreateFlags) => (await import('./commands/sandbox.js')).sandboxCreate(ctx, name, opts));
  sandbox
    .command('ls')
    .alias('list')
    .description('list sandboxes with their interfaces and addresses')
    .option('-q, --quiet', 'only the sandbox ids')
    .option('-f, --filter <key=value>', 'only sandboxes matching: name, id, label=KEY[=VALUE], network, mode (repeatable)', collect)
    .option('--format <template>', 'one line per sandbox from a template: {{.Name}} {{.ID}} {{.Networks}} {{.Addresses}} {{.Label "k"}} {{json .}}')
    .action(async (opts: ListFlags) => (await import('./commands/sandbox.js')).sandboxList(ctx, opts));
  sandbox
    .command('inspect')
    .argument('<names...>', 'sandbox names or ids')
    .description('show sandboxes and their interfaces')
    .action(async (names: string[]) => (await import('./commands/sandbox.js')).sandboxInspect(ctx, names));
  sandbox
    .command('rm')
    .alias('remove')
    .argument('<names...>', 'sandbox names or ids')
    .description('remove sandboxes: they leave their networks and their namespaces go')
    .action(async (names: string[]) => (await import('./commands/sandbox.js')).sandboxRemove(ctx, names));
  addPrune(sandbox, 'sandboxes', 'remove every sandbox no process is using (its namespace holds no process), with its endpoints', async (opts) => (await import('./commands/prune.js')).sandboxPrune(ctx, opts));

  // `connect`/`disconnect`, and the same as `network connect`/`network disconnect` (Docker's spelling).
  for (const parent of [program, network]) {
    parent
      .command('connect')
      .argument('<network>', 'network name or id (net.d networks and rkt presets are created on first use)')
      .argument('<sandbox>', 'sandbox name or id')
      .description('connect a sandbox to a network (creates an endpoint: an interface with an address)')
      .option('--ip <ipv4>', 'static IPv4 address')
      .option('--ip6 <ipv6>', 'static IPv6 address')
      .option('--mac <mac>', 'MAC address of the interface')
      .option('--ifname <name>', 'interface name inside the sandbox (default: the next free ethN)')
      .option('--alias <name>', 'extra host name for this endpoint (repeatable)', collect)
      .option('--priority <n>', 'the highest priority endpoint provides the default route')
      .option('-p, --port <spec>', 'publish a port, as Docker: [HOST_IP:][HOST_PORT:]PORT[/tcp|udp|sctp], ranges allowed, no host port = a free one; or a named port as rkt: NAME:[HOST_IP:]HOST_PORT (repeatable)', collect)
      .option('--allow-from <cidr>', 'only clients from this subnet reach the published ports')
      .addHelpText('after', CONNECT_EXAMPLES)
      .action(async (net: string, sb: string, opts: ConnectFlags) => (await import('./commands/connect.js')).connect(ctx, net, sb, opts));
    parent
      .command('disconnect')
      .argument('<network>', 'network name or id')
      .argument('<sandbox>', 'sandbox name or id')
      .description('disconnect a sandbox from a network')
      .action(async (net: string, sb: string) => (await import('./commands/connect.js')).disconnect(ctx, net, sb));
  }

  program
    .command('run')
    .argument('[command...]', 'the command to run, after --')
    .description('run a command in an ephemeral sandbox joined to networks (rkt run --net), removed when it exits; or, with --sandbox, in an existing one')
    .option('--net <nets>', 'networks: a,b[:IP=x], all, none or host (repeatable; default: default)', collect)
    .option('-p, --port <spec>', 'publish a port of the first network joined, as Docker: [HOST_IP:][HOST_PORT:]PORT[/tcp|udp|sctp], or a named port: NAME:[HOST_IP:]HOST_PORT (repeatable)', collect)
    .option('--allow-from <cidr>', 'only clients from this subnet reach the published ports')
    .option('--expose <name=port>', 'declare a named port of the sandbox, NAME=PORT[/tcp|udp|sctp] (repeatable)', collect)
    .option('--name <name>', 'sandbox name (default: run-<random>)')
    .option('--sandbox <name>', 'run in this existing sandbox (it stays when the command ends; several commands may share it, as containers share a pod); takes no --net, -p, --expose or --name')
    .addHelpText('after', RUN_EXAMPLES)
    .action(async (argv: string[], opts: RunFlags) => (await import('./commands/run.js')).run(ctx, argv, opts));

  const firewall = program.command('firewall').description("show or reload Switchyard's firewall rules (nftables table inet switchyard)").helpCommand(false);
  firewall
    .command('show')
    .description('the firewall backend, whether its rules match the store, and the rules themselves')
    .action(async () => (await import('./commands/firewall.js')).firewallShow(ctx));
  firewall
    .command('reload')
    .description('reinstall every rule from the store in one transaction (after `nft flush ruleset` or a firewalld reload)')
    .action(async () => (await import('./commands/firewall.js')).firewallReload(ctx));
  const port = program.command('port').description('published ports').helpCommand(false);
  port
    .command('ls')
    .alias('list')
    .argument('[sandbox]', 'only this sandbox')
    .description('list published ports: container port, host address and port, allowed clients')
    .action(async (name: string | undefined) => (await import('./commands/firewall.js')).portList(ctx, name));

  const cni = program.command('cni').description('Switchyard as CNI plugins (install), and any CNI config run by hand (add, del, check, gc, status)').helpCommand(false);
  cni
    .command('install')
    .description('put the plugins into a CNI bin directory, so a runtime (containerd, CRI-O, Podman) can call them')
    .option('--dir <dir>', 'the CNI bin directory', '/opt/cni/bin')
    .action(async (opts: { dir?: string }) => (await import('./commands/cni.js')).cniInstall(ctx, opts));
  for (const [command, what] of [
    ['add', 'ADD: attach the sandbox, print the result'],
    ['del', 'DEL: detach it, with what its ADD ran with'],
    ['check', 'CHECK: ask the plugins whether the attachment is still as ADD left it'],
    ['gc', 'GC: remove the attachments `cni add` made that --keep does not list'],
    ['status', 'STATUS: ask each plugin whether it can take an ADD'],
  ] as const) {
    cni
      .command(command)
      .argument('<conf>', 'a .conf/.conflist file, or a network declared in the net dir')
      .argument(command === 'gc' || command === 'status' ? '[sandbox]' : '<sandbox>', 'a sandbox name, or a netns path (/run/netns/NAME)')
      .description(`run a CNI config's plugins by hand, as cnitool does — ${what}`)
      .option('--ifname <name>', 'CNI_IFNAME (default $CNI_IFNAME or eth0)')
      .option('--container-id <id>', 'CNI_CONTAINERID (default: derived from the netns path)')
      .option('--args <k=v;...>', 'CNI_ARGS (default $CNI_ARGS)')
      .option('--cap-args <json>', 'capability arguments as JSON (default $CAP_ARGS)')
      .option('--keep <containerId/ifname>', 'gc: an attachment to keep (repeatable)', collect)
      .action(async (conf: string, sandbox: string | undefined, opts: CniToolFlags) => (await import('./commands/cni.js')).cniTool(ctx, command, conf, sandbox, opts));
  }

  const plugin = program.command('plugin').description('install, list and remove driver plugins (npm packages switchyard-driver-<type>) in <state-dir>/plugins').helpCommand(false);
  plugin
    .command('install')
    .argument('<package>', 'NAME[@RANGE] from the registry, a tarball (npm pack), or a package directory')
    .description('install a plugin into <state-dir>/plugins with npm, then check that Switchyard can load it')
    .option('--registry <url>', "npm registry to install from (default: $npm_config_registry, else npm's own setting)")
    .addHelpText('after', PLUGIN_EXAMPLES)
    .action(async (spec: string, opts: PluginInstallFlags) => (await import('./commands/plugin.js')).pluginInstall(ctx, spec, opts));
  plugin
    .command('ls')
    .alias('list')
    .description('list installed plugins: package, version, kind, type, plugin API version')
    .action(async () => (await import('./commands/plugin.js')).pluginList(ctx));
  plugin
    .command('rm')
    .alias('remove')
    .argument('<names...>', 'package names (or driver types)')
    .description('remove plugins that no network uses')
    .action(async (names: string[]) => (await import('./commands/plugin.js')).pluginRemove(ctx, names));

  program
    .command('completion')
    .argument('<shell>', 'bash or zsh')
    .description('print a shell completion script: eval "$(switchyard completion bash)", or save it where your shell loads completions')
    .action(async (shell: string) => (await import('./commands/completion.js')).completion(ctx, shell, program));
  program
    .command('gc')
    .description('remove what a crash, a reboot or a killed run left stale; restore vanished network objects')
    .option('--dry-run', 'only print what would be done')
    .action(async (opts: { dryRun?: boolean }) => (await import('./commands/gc.js')).gc(ctx, opts));
  program
    .command('dns')
    .description("run the state dir's DNS responder in the foreground (connects start one on demand; for systemd)")
    .option('--upstream <addr>', 'server for names that are not local, ip or ip:port (repeatable; default SWITCHYARD_DNS_UPSTREAM, else the host resolv.conf)', collect)
    .option('--port <n>', 'port to listen on at each gateway (default 53)')
    .action(async (opts: { upstream?: string[]; port?: string }) => (await import('./commands/dns.js')).dns(ctx, opts));
  program
    .command('agent')
    .description('keep this host in the cluster of multi-host networks (needs --etcd): its lease, VXLAN forwarding and routes to other hosts')
    .option('--address <ip>', 'this host underlay address, where other hosts send its traffic')
    .option('--ttl <seconds>', 'lease time to live: how long the host may be silent before its objects leave the cluster (default 10)')
    .option('--leave', 'on exit, revoke the lease now: the host endpoints, blocks and subnets leave the cluster at once')
    .action(async (opts: { address?: string; ttl?: string; leave?: boolean }) => (await import('./commands/agent.js')).agent(ctx, opts));
  program
    .command('doctor')
    .description('check what this machine supports: kernel features, tools, privileges, state dir')
    .action(async () => (await import('./commands/doctor.js')).doctor(ctx));
  program
    .command('demo')
    .description('build a throwaway lab in a private namespace: two networks, three sandboxes, pings, teardown, timings')
    .action(async () => (await import('./commands/demo.js')).demo(ctx));
  return program;
}
