import { isSwitchyardError, SwitchyardError, type NetworkRecord, type NetworkSpec, type Switchyard } from '@switchyard/core';
import { PRESET_NETWORKS } from '@switchyard/cni';
import { loadNetDir, type NetDir } from './net-dir.js';

/** Where a network name is defined, in the order a lookup tries them: the user's first. */
export type NetworkSource = 'store' | 'net.d' | 'preset';

export interface EnsuredNetwork {
  network: NetworkRecord;
  /** Set when this call created the network (on first use). */
  createdFrom?: Exclude<NetworkSource, 'store'>;
  /** When created from a net.d file: what the file carries that is accepted but not applied. */
  warnings?: string[];
}

/**
 * Every network a name can mean: ones already created (the store), ones declared in the net dir,
 * and rkt's presets (`default`, `default-restricted`). Declared and preset networks are created on first use.
 */
export class NetworkCatalog {
  private dir: Promise<NetDir> | undefined;

  constructor(
    private readonly sy: Switchyard,
    private readonly netDirPath: string,
    private readonly presets: Readonly<Record<string, NetworkSpec>> = PRESET_NETWORKS,
  ) {}

  /** The net dir, read once per command. */
  netDir(): Promise<NetDir> {
    this.dir ??= loadNetDir(this.netDirPath);
    return this.dir;
  }

  /** Where `name` is defined, or undefined. */
  async sourceOf(name: string): Promise<NetworkSource | undefined> {
    if (await this.inStore(name)) return 'store';
    if ((await this.netDir()).declarations.some((d) => d.name === name)) return 'net.d';
    if (Object.hasOwn(this.presets, name)) return 'preset';
    return undefined;
  }

  /** The network of that name, creating it from net.d or a preset when it does not exist yet. */
  async ensure(name: string): Promise<EnsuredNetwork> {
    const existing = await this.inStore(name);
    if (existing) return { network: existing };
    const declared = (await this.netDir()).declarations.find((d) => d.name === name);
    if (declared) {
      // A bad file is an error for its network only, raised when that network is used.
      if (!declared.spec) throw declared.error ?? new SwitchyardError('SWY_ERR_CONFIG_INVALID', `${declared.file} declares no usable network`, { hint: 'Fix the file.' });
      const ensured = await this.create(declared.spec, 'net.d', declared.file);
      return ensured.createdFrom && declared.warnings.length > 0 ? { ...ensured, warnings: declared.warnings } : ensured;
    }
    const preset = Object.hasOwn(this.presets, name) ? this.presets[name] : undefined;
    if (preset) return this.create(preset, 'preset');
    throw new SwitchyardError('SWY_ERR_NETWORK_NOT_FOUND', `No network named "${name}": it is not created, not declared in ${this.netDirPath}, and not a preset`, {
      hint: `Create it with \`switchyard network create ${name}\`, declare it in a file in ${this.netDirPath}, or list networks with \`switchyard network ls\`.`,
      details: { name, netDir: this.netDirPath },
    });
  }

  /**
   * Removes a network `ensure` created on first use, for a command that then failed: a failed command leaves
   * nothing behind. A network someone else joined or removed meanwhile is left to them.
   */
  async discard(ensured: EnsuredNetwork): Promise<void> {
    if (!ensured.createdFrom) return;
    try {
      await this.sy.controller.deleteNetwork(ensured.network.id);
    } catch (e) {
      if (!isSwitchyardError(e, 'SWY_ERR_NETWORK_IN_USE') && !isSwitchyardError(e, 'SWY_ERR_NETWORK_NOT_FOUND')) throw e;
    }
  }

  private async create(spec: NetworkSpec, source: 'net.d' | 'preset', file?: string): Promise<EnsuredNetwork> {
    try {
      return { network: await this.sy.controller.createNetwork(spec), createdFrom: source };
    } catch (e) {
      // Another process created it first: use theirs.
      if (isSwitchyardError(e, 'SWY_ERR_NETWORK_EXISTS')) return { network: await this.sy.controller.inspectNetwork(spec.name) };
      // A bad value in a net.d file is the file's fault: say which file.
      if (file && isSwitchyardError(e) && e.kind === 'InvalidArgument') {
        throw new SwitchyardError('SWY_ERR_CONFIG_INVALID', `${file}: ${e.message}`, {
          hint: e.hint ?? 'Fix the file or move it out of the net dir.',
          cause: e,
          details: { file, code: e.code },
        });
      }
      throw e;
    }
  }

  private async inStore(name: string): Promise<NetworkRecord | undefined> {
    try {
      return await this.sy.controller.inspectNetwork(name);
    } catch (e) {
      if (isSwitchyardError(e, 'SWY_ERR_NETWORK_NOT_FOUND')) return undefined;
      throw e;
    }
  }
}
