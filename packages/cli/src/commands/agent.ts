import { consoleLogger, SwitchyardError } from '@switchyard/core';
import type { CliContext } from '../context.js';
import { parseIntegerFlag } from '../flags.js';

/**
 * `agent --address IP [--ttl S] [--leave]`: the per-host process of multi-host networks (needs --etcd).
 * Registers the host under a lease it keeps alive, watches the global store and programs the VXLAN
 * forwarding entries and host-gw routes for other hosts' endpoints and subnets; runs until SIGTERM or
 * SIGINT. On exit the lease is left to expire after its TTL (a restart within it takes over, and nothing
 * blinks); `--leave` revokes it at once, removing the host's endpoints, blocks and subnets from the cluster.
 */
export async function agent(ctx: CliContext, flags: { address?: string; ttl?: string; leave?: boolean }): Promise<void> {
  await ctx.requirePrivileges('Running the agent');
  const etcd = ctx.etcd;
  if (!etcd) {
    throw new SwitchyardError('SWY_ERR_GLOBAL_STORE_MISSING', 'The agent needs the global store: no etcd was given', {
      hint: 'Run it as: switchyard --etcd http://HOST:2379 agent --address UNDERLAY_IP (or set SWITCHYARD_ETCD).',
    });
  }
  if (!flags.address) {
    throw new SwitchyardError('SWY_ERR_UNDERLAY_INVALID', 'The agent needs this host underlay address (--address)', {
      hint: 'Give the address other hosts reach this one at, e.g. --address 10.99.0.1.',
    });
  }
  const ttl = flags.ttl === undefined ? 10 : parseIntegerFlag('--ttl', flags.ttl, 1, 3600);
  const sy = await ctx.open('change');
  const [{ Agent }, { HostLease }] = await Promise.all([import('@switchyard/agent'), import('@switchyard/store-etcd')]);
  const store = sy.globalStore as InstanceType<typeof import('@switchyard/store-etcd').EtcdStore>;
  const logger = consoleLogger(ctx.debug ? 'debug' : 'info');
  const a = new Agent({ switchyard: sy, lease: new HostLease(store, flags.address, ttl), address: flags.address, logger });
  const host = await a.start();
  ctx.io.stdout.write(ctx.json ? JSON.stringify({ host: host.name, address: host.address, leaseId: host.leaseId, ttl }) + '\n' : `agent for host ${host.name} (${host.address}), lease ${host.leaseId}, ttl ${ttl}s\n`);
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  await a.stop({ leave: flags.leave === true });
}
