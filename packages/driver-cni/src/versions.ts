import { SwitchyardError } from '@switchyard/core';

/** CNI spec versions this driver speaks (results of 0.1.0/0.2.0 carry `ip4`/`ip6` instead of `ips`). */
export const SPOKEN_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** Compares two `major.minor.patch` versions; NaN parts sort first. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function atLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

/** What one plugin said to VERSION. */
export interface PluginVersions {
  /** The plugin's executable name. */
  plugin: string;
  /** The versions it reported in its VERSION answer (`supportedVersions`). */
  supported: string[];
}

/**
 * Version negotiation, as libcni does for a list: the candidates are the list's `cniVersions` (1.1.0
 * lists; the highest one every plugin and this driver speak wins) or else its `cniVersion`, which every
 * plugin must then support. Throws SWY_ERR_CNI_VERSION_UNSUPPORTED naming the first plugin that does not.
 */
export function negotiateVersion(list: { name: string; cniVersion: string; cniVersions?: string[] }, plugins: PluginVersions[]): string {
  const candidates = (list.cniVersions && list.cniVersions.length > 0 ? [...list.cniVersions] : [list.cniVersion]).sort((a, b) => compareVersions(b, a));
  const spoken = (v: string) => (SPOKEN_VERSIONS as readonly string[]).includes(v);
  for (const v of candidates) if (spoken(v) && plugins.every((p) => p.supported.includes(v))) return v;
  const wanted = candidates.join(', ');
  const unspoken = candidates.filter((v) => !spoken(v));
  if (unspoken.length === candidates.length) {
    throw new SwitchyardError('SWY_ERR_CNI_VERSION_UNSUPPORTED', `CNI network "${list.name}" asks for version ${wanted}, which driver-cni does not speak`, {
      hint: `Set cniVersion to one of ${SPOKEN_VERSIONS.join(', ')}.`,
      details: { wanted: candidates, spoken: [...SPOKEN_VERSIONS] },
    });
  }
  const refusing = plugins.find((p) => !candidates.some((v) => spoken(v) && p.supported.includes(v))) ?? plugins[0];
  throw new SwitchyardError('SWY_ERR_CNI_VERSION_UNSUPPORTED', `CNI plugin "${refusing?.plugin ?? '?'}" of network "${list.name}" does not support CNI version ${wanted}; it supports ${refusing?.supported.join(', ') ?? 'none'}`, {
    hint: 'Set the config’s cniVersion to a version every plugin of the list supports, or install newer plugins.',
    details: { wanted: candidates, plugins: plugins.map((p) => ({ plugin: p.plugin, supported: p.supported })) },
  });
}
