import { SwitchyardError, type ConnectOptions } from '@switchyard/core';
import type { CliContext } from '../context.js';
import { parseAddressFlag, parseIntegerFlag } from '../flags.js';
import { NetworkCatalog } from '../netd/network-catalog.js';
import { endpointSummary } from '../output/views.js';

export interface ConnectFlags {
  ip?: string;
  ip6?: string;
  mac?: string;
  ifname?: string;
  alias?: string[];
  priority?: string;
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export function connectOptions(f: ConnectFlags): ConnectOptions {
  if (f.mac !== undefined && !MAC.test(f.mac)) {
    throw new SwitchyardError('SWY_ERR_INVALID_MAC', `--mac ${JSON.stringify(f.mac)} is not a MAC address`, { hint: 'Write it like --mac 02:42:0a:58:00:05.' });
  }
  return {
    ...(f.ip !== undefined ? { ipv4: parseAddressFlag('--ip', f.ip, 4) } : {}),
    ...(f.ip6 !== undefined ? { ipv6: parseAddressFlag('--ip6', f.ip6, 6) } : {}),
    ...(f.mac !== undefined ? { mac: f.mac.toLowerCase() } : {}),
    ...(f.ifname !== undefined ? { ifname: f.ifname } : {}),
    ...(f.alias && f.alias.length > 0 ? { aliases: f.alias } : {}),
    ...(f.priority !== undefined ? { gatewayPriority: parseIntegerFlag('--priority', f.priority, -1000, 1000) } : {}),
  };
}

/** `connect NETWORK SANDBOX`: a network declared in net.d (or an rkt preset) is created on first use. */
export async function connect(ctx: CliContext, networkName: string, sandboxName: string, f: ConnectFlags): Promise<void> {
  const opts = connectOptions(f);
  await ctx.requirePrivileges('Connecting a sandbox');
  const sy = await ctx.open('change');
  // Fail on an unknown sandbox before creating a network for it.
  await sy.controller.inspectSandbox(sandboxName);
  const { network, createdFrom } = await new NetworkCatalog(sy, ctx.netDir).ensure(networkName);
  if (createdFrom) ctx.progress(`created network ${network.name} from ${createdFrom === 'preset' ? 'the rkt preset' : (network.labels['switchyard.netd.file'] ?? 'net.d')} on first use`);
  const e = await sy.controller.connect(network.name, sandboxName, opts);
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
