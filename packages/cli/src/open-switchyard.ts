import { join } from 'node:path';
import { consoleLogger, createSwitchyard, type Switchyard, type SwitchyardOptions } from '@switchyard/core';
import { BUILTIN_DRIVERS, BUILTIN_IPAMS } from '@switchyard/cni';
import { createCniDriverManifest, DEFAULT_CNI_PATH } from '@switchyard/driver-cni';
import type { CliContext } from './context.js';
import overlay from '@switchyard/driver-overlay';
import routed from '@switchyard/driver-routed';
import globalIpam from '@switchyard/ipam-global';

/** Drivers of networks spanning hosts; they refuse to work without `--etcd`. */
const MULTI_HOST_DRIVERS = [overlay, routed];

/** Builds the instance a command uses: built-in drivers, the state dir, and `<stateDir>/plugins` for plugins. */
export async function openSwitchyard(ctx: CliContext, purpose: 'read' | 'change', stateDir = ctx.stateDir): Promise<Switchyard> {
  const options: SwitchyardOptions = {
    stateDir,
    // Plugins come only from the state dir's plugin directory, never from wherever the command runs.
    appDir: false,
    pluginDir: join(stateDir, 'plugins'),
    // driver-cni runs net.d configs whose plugins Switchyard does not do natively, from CNI_PATH as a runtime would.
    builtins: {
      drivers: [...BUILTIN_DRIVERS, createCniDriverManifest({ cniPath: ctx.io.env.CNI_PATH || DEFAULT_CNI_PATH }), ...MULTI_HOST_DRIVERS],
      ipams: [...BUILTIN_IPAMS, globalIpam],
    },
    // Recovery may touch the kernel; reads must work without privileges.
    recover: purpose === 'change',
    ...(await firewallOption(ctx)),
    ...(await dnsOption(ctx, stateDir)),
    ...(await globalStoreOption(ctx)),
    ...(ctx.debug ? { logger: consoleLogger('debug') } : { logger: consoleLogger('warn') }),
  };
  return (ctx.deps.createSwitchyard ?? createSwitchyard)(options);
}

/** The global store for multi-host networks, when `--etcd` (or SWITCHYARD_ETCD) names one. */
async function globalStoreOption(ctx: CliContext): Promise<Pick<SwitchyardOptions, 'globalStore'>> {
  const etcd = ctx.etcd;
  if (!etcd) return {};
  const { openEtcdStore } = await import('@switchyard/store-etcd');
  return { globalStore: await openEtcdStore(etcd) };
}

/** The DNS service for this command: the state dir's responder unless tests replaced createSwitchyard or SWITCHYARD_DNS=none. */
async function dnsOption(ctx: CliContext, stateDir: string): Promise<Pick<SwitchyardOptions, 'dns'>> {
  if (ctx.deps.dns) {
    const dns = ctx.deps.dns(stateDir);
    return dns ? { dns } : {};
  }
  if (ctx.deps.createSwitchyard || ctx.io.env.SWITCHYARD_DNS === 'none') return {};
  // The service alone (the process manager), not the responder the package also holds: every command comes here.
  const { createDnsService } = await import('@switchyard/dns/service');
  const upstreams = (ctx.io.env.SWITCHYARD_DNS_UPSTREAM ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  return { dns: createDnsService({ stateDir, ...(upstreams.length > 0 ? { upstreams } : {}) }) };
}

/** The firewall for this command: nftables unless the host lacks it or SWITCHYARD_FIREWALL says otherwise. */
async function firewallOption(ctx: CliContext): Promise<Pick<SwitchyardOptions, 'firewall'>> {
  if (ctx.deps.firewall) {
    const firewall = ctx.deps.firewall();
    return firewall ? { firewall } : {};
  }
  if (ctx.deps.createSwitchyard) return {};
  const wanted = ctx.io.env.SWITCHYARD_FIREWALL;
  if (wanted === 'none') return {};
  const { detectNftablesFirewall } = await import('@switchyard/firewall-nftables');
  const firewall = detectNftablesFirewall(wanted === 'nft' ? 'nft' : 'libnftables');
  return firewall ? { firewall } : {};
}
