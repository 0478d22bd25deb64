import { SwitchyardError, type Kernel } from '@switchyard/core';

const KIND_CONFIG: Record<'macvlan' | 'ipvlan', string> = { macvlan: 'CONFIG_MACVLAN', ipvlan: 'CONFIG_IPVLAN' };

/** Refuses a network whose link kind this kernel cannot create, before anything is allocated. */
export async function requireLinkKind(kernel: Kernel, kind: 'macvlan' | 'ipvlan'): Promise<void> {
  if (await kernel.probe(kind)) return;
  throw new SwitchyardError('SWY_ERR_KERNEL_FEATURE_MISSING', `This kernel cannot create ${kind} links, which every ${kind} network needs`, {
    hint: `Use a kernel built with ${kind} (${KIND_CONFIG[kind]}, or its module loaded), or choose another driver such as bridge${kind === 'ipvlan' ? ' or macvlan' : ''}.`,
    details: { feature: kind },
  });
}
