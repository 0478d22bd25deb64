import { assertHostName, assertIfName, normalizeMac, SwitchyardError, type ConnectOptions } from '@switchyard/core';
import type { CliContext } from '../context.js';
import { parseAddressFlag, parseIntegerFlag } from '../flags.js';
import { parsePortFlags } from '../port-spec.js';
import { NetworkCatalog } from '../netd/network-catalog.js';
import { oneLine } from '../output/failure.js';
import { endpointSummary } from '../output/views.js';

export interface ConnectFlags {
  ip?: string;
  ip6?: string;
  mac?: string;
  ifname?: string;
  alias?: string[];
  priority?: string;
  port?: string[];
  allowFrom?: string;
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export function connectOptions(f: ConnectFlags): ConnectOptions {
  if (f.mac !== undefined && !MAC.test(f.mac)) {
    throw new SwitchyardError('SWY_ERR_INVALID_MAC', `--mac ${JSON.stringify(f.mac)} is not a MAC address`, { hint: 'Write it like --mac 02:42:0a:58:00:05.' });
  }
  // Checked here as core checks them, so that bad input fails before a network is created on first use.
  for (const alias of f.alias ?? []) assertHostName('Alias', alias);
  return {
    ...(f.ip !== undefined ? { ipv4: parseAddressFlag('--ip', f.ip, 4) } : {}),
    ...(f.ip6 !== undefined ? { ipv6: parseAddressFlag('--ip6', f.ip6, 6) } : {}),
    ...(f.mac !== undefined ? { mac: normalizeMac(f.mac) } : {}),
    ...(f.ifname !== undefined ? { ifname: assertIfName(f.ifname, 'interface name (--ifname)') } : {}),
    ...(f.alias && f.alias.length > 0 ? { aliases: f.alias } : {}),
    ...(f.priority !== undefined ? { gatewayPriority: parseIntegerFlag('--priority', f.priority, -1000, 1000) } : {}),
    ...(f.port !== undefined || f.allowFrom !== undefined ? { portBindings: parsePortFlags(f.port ?? [], f.allowFrom) } : {}),
  };
}

/** `connect NETWORK SANDBOX`: a network declared in net.d (or an rkt preset) is created on first use. */
export async function connect(ctx: CliContext, networkName: string, sandboxName: string, f: ConnectFlags): Promise<void> {
  const opts = connectOptions(f);
  await ctx.requirePrivileges('Connecting a sandbox');
  const sy = await ctx.open('change');
  // Fail on an unknown sandbox before creating a network for it.
  await sy.controller.inspectSandbox(sandboxName);
  const catalog = new NetworkCatalog(sy, ctx.netDir);
  const ensured = await catalog.ensure(networkName);
  const { network, createdFrom } = ensured;
  if (createdFrom) ctx.progress(`created network ${network.name} from ${createdFrom === 'preset' ? 'the rkt preset' : (network.labels['switchyard.netd.file'] ?? 'net.d')} on first use`);
  for (const w of ensured.warnings ?? []) ctx.warn(w);
  let e;
  try {
    e = await sy.controller.connect(network.name, sandboxName, opts);
  } catch (error) {
    // A failed connect leaves nothing behind, not even the network it created on first use.
    await catalog.discard(ensured).catch((d: unknown) => ctx.warn(oneLine(`removing network ${network.name} (created for this connect) failed too: ${d instanceof Error ? d.message : String(d)}`)));
    throw error;
  }
  ctx.result(`connected ${sandboxName} to ${network.name}: ${endpointSummary(e)}\n`, {
    endpoint: e,
    createdNetwork: createdFrom ? { name: network.name, from: createdFrom } : null,
  });
}

/** `disconnect NETWORK SANDBOX`. */
export async function disconnect(ctx: CliContext, networkName: string, sandboxName: string): Promise<void> {
  await ctx.requirePrivileges('Disconnecting a sandbox');
  const sy = await ctx.open('change');
  const e = await sy.controller.disconnect(networkName, sandboxName);
  ctx.result(`disconnected ${sandboxName} from ${e.networkName} (${e.ifname} removed)\n`, { endpoint: e });
}
