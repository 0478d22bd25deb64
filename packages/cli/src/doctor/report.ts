import type { DnsStatus, KernelFeature, RegisteredPlugin, Switchyard } from '@switchyard/core';
import { loadNetDir } from '../netd/net-dir.js';
import { listInstalled, pluginDirOf, type InstalledPlugin } from '../plugins/plugin-dir.js';
import { mayChangeKernel, type Privileges } from '../privileges.js';
import type { DirStatus, DoctorProbes } from './probes.js';

export interface FeatureCheck {
  feature: KernelFeature;
  /** null when it could not be probed (no privileges, or the probe failed). */
  supported: boolean | null;
  usedBy: string;
  note?: string;
}

export interface ToolCheck {
  tool: string;
  path: string | null;
  neededFor: string;
  /** Without it Switchyard cannot work at all. */
  essential: boolean;
  install: string;
}

export interface DoctorReport {
  ok: boolean;
  problems: string[];
  kernel: FeatureCheck[];
  plugins: RegisteredPlugin[];
  /** The CLI's plugin directory and each package in it, its manifest imported and checked as `network create` would. */
  installedPlugins: { dir: string; plugins: InstalledPlugin[] };
  tools: ToolCheck[];
  cniPlugins: { dir: string; plugins: string[]; install: string };
  privileges: Privileges & { mayChangeKernel: boolean };
  stateDir: DirStatus & { path: string };
  /** The firewall backend in use, and whether the host forwards (Switchyard turns it on when a network needs it). */
  firewall: { backend: string; ipv4Forwarding: string | null; ipv6Forwarding: string | null };
  /** The DNS responder of the state dir: running (which networks, on which addresses) or stopped. */
  dns: DnsStatus;
  /** The net dir's files: each network usable or not (an error for that network only), what is not applied, files declaring nothing. */
  netd: NetDirReport;
}

export interface NetDirReport {
  dir: string;
  /** Set when the directory itself cannot be read. */
  error?: string;
  networks: Array<{ name: string; file: string; driver?: string; error?: string; warnings: string[] }>;
  ignored: Array<{ name: string; file: string; keptFile: string }>;
  broken: Array<{ file: string; error: string }>;
}

/** The net dir as the commands will read it. */
export async function netDirReport(dir: string): Promise<NetDirReport> {
  try {
    const d = await loadNetDir(dir);
    return {
      dir,
      networks: d.declarations.map((n) => ({ name: n.name, file: n.file, ...(n.spec ? { driver: n.spec.driver } : {}), ...(n.error ? { error: n.error.message } : {}), warnings: n.warnings })),
      ignored: d.ignored,
      broken: d.broken.map((b) => ({ file: b.file, error: b.error.message })),
    };
  } catch (e) {
    return { dir, error: e instanceof Error ? e.message : String(e), networks: [], ignored: [], broken: [] };
  }
}

const FEATURES: ReadonlyArray<{ feature: KernelFeature; usedBy: string; label: string; uml?: string }> = [
  { feature: 'bridge', usedBy: 'bridge driver', label: 'bridge' },
  { feature: 'veth', usedBy: 'veth and bridge drivers', label: 'veth' },
  { feature: 'macvlan', usedBy: 'macvlan driver', label: 'macvlan' },
  { feature: 'ipvlan', usedBy: 'ipvlan driver', label: 'ipvlan', uml: "Switchyard's ipvlan tests run under user-mode Linux instead" },
  { feature: 'vlan', usedBy: '802.1Q sub-interfaces', label: '802.1Q vlan', uml: "Switchyard's 802.1Q tests run under user-mode Linux instead" },
  { feature: 'dummy', usedBy: 'dummy parents in tests', label: 'dummy' },
  { feature: 'vxlan', usedBy: 'overlay driver (multi-host)', label: 'vxlan' },
  { feature: 'nftables', usedBy: 'firewall: masquerade, published ports, isolation', label: 'nf_tables' },
];

const TOOLS: ReadonlyArray<Omit<ToolCheck, 'path'>> = [
  { tool: 'ip', neededFor: 'every kernel change (iproute2 executor)', essential: true, install: 'apt-get install iproute2' },
  { tool: 'nsenter', neededFor: '`run` and `demo`: entering sandboxes', essential: false, install: 'apt-get install util-linux' },
  { tool: 'unshare', neededFor: '`demo`: its private lab namespace', essential: false, install: 'apt-get install util-linux' },
  { tool: 'ping', neededFor: '`demo`: traffic between sandboxes', essential: false, install: 'apt-get install iputils-ping' },
  { tool: 'nft', neededFor: 'firewall backend (libnftables.so.1 comes with it)', essential: false, install: 'apt-get install nftables' },
];

export const CNI_PLUGIN_DIR = '/usr/lib/cni';

/** Gathers the doctor's findings. Kernel probes run only with privileges, in throwaway namespaces. */
export async function gatherReport(sy: Switchyard, probes: DoctorProbes, env: { path: string; stateDir: string; netDir: string }, progress: (line: string) => void): Promise<DoctorReport> {
  const priv = probes.privileges();
  const may = mayChangeKernel(priv);
  const modules = probes.moduleLoading();
  const kernel: FeatureCheck[] = [];
  if (may) progress('probing kernel features in throwaway namespaces');
  for (const f of FEATURES) {
    if (!may) {
      kernel.push({ feature: f.feature, supported: null, usedBy: f.usedBy, note: 'not probed: needs root or CAP_NET_ADMIN' });
      continue;
    }
    let supported: boolean | null;
    let note: string | undefined;
    try {
      supported = await sy.kernel.probe(f.feature);
    } catch (e) {
      supported = null;
      note = `probe failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (supported === false) {
      note = modules ? `${f.label} is not available (try \`modprobe ${f.feature === 'vlan' ? '8021q' : f.feature === 'nftables' ? 'nf_tables' : f.feature}\`)` : `kernel built without ${f.label} support (no module loading)`;
      if (f.uml) note += `; ${f.uml}`;
    }
    kernel.push({ feature: f.feature, supported, usedBy: f.usedBy, ...(note ? { note } : {}) });
  }
  const tools = TOOLS.map((t) => ({ ...t, path: probes.which(t.tool, env.path) ?? null }));
  const stateDir = { path: env.stateDir, ...probes.dirStatus(env.stateDir) };

  const problems: string[] = [];
  for (const t of tools) if (t.essential && !t.path) problems.push(`${t.tool} is missing (${t.install})`);
  for (const k of kernel) if ((k.feature === 'bridge' || k.feature === 'veth') && k.supported === false) problems.push(`the kernel lacks ${k.feature}, which the built-in drivers need`);
  if (!stateDir.writable) problems.push(`the state dir ${env.stateDir} is not writable`);
  return {
    ok: problems.length === 0,
    problems,
    kernel,
    plugins: sy.registry.list(),
    installedPlugins: { dir: pluginDirOf(env.stateDir), plugins: await listInstalled(pluginDirOf(env.stateDir), true) },
    tools,
    cniPlugins: { dir: CNI_PLUGIN_DIR, plugins: probes.cniPlugins(CNI_PLUGIN_DIR), install: 'apt-get install containernetworking-plugins' },
    privileges: { ...priv, mayChangeKernel: may },
    stateDir,
    firewall: { backend: sy.controller.firewallName, ipv4Forwarding: probes.sysctl('net.ipv4.ip_forward') ?? null, ipv6Forwarding: probes.sysctl('net.ipv6.conf.all.forwarding') ?? null },
    dns: await sy.controller.dnsStatus(),
    netd: await netDirReport(env.netDir),
  };
}
