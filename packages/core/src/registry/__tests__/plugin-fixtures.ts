import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Firewall } from '../../spi/firewall.js';
import type { Kernel } from '../../spi/kernel.js';
import type { StateStore } from '../../spi/state-store.js';
import type { ResolvedOptions } from '../../di/options.js';
import type { Logger } from '../logger.js';
import { PluginRegistry } from '../plugin-registry.js';

/** A throwaway application directory with its own package.json, removed by `cleanup`. */
export interface TempApp {
  dir: string;
  cleanup(): void;
}

export function makeTempApp(prefix = 'swy-app-'): TempApp {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'embedding-app', private: true, type: 'module' }));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface FakePluginSpec {
  name: string;
  /** Merged over a valid driver package.json (`null` deletes a key). */
  packageJson?: Record<string, unknown>;
  /** The entry module's body after the marker line; default exports a valid manifest for `type`. */
  body?: string;
  type?: string;
}

/** A valid ptp-style manifest as plain JS, the way a package without build tooling would write it. */
export function manifestSource(type: string, overrides = ''): string {
  const methods = ['validateNetworkOptions', 'createNetwork', 'deleteNetwork', 'createEndpoint', 'deleteEndpoint', 'join', 'leave'].map((m) => `${m}: async () => ({ steps: [], hostSteps: [] })`).join(', ');
  return `export default {
  kind: 'driver', apiVersion: 1, type: ${JSON.stringify(type)}, version: '1.2.3',
  capability: { dataScope: 'local', connectivityScope: 'local' },
  create: () => ({ type: ${JSON.stringify(type)}, capability: { dataScope: 'local', connectivityScope: 'local' }, ${methods} }),
  ${overrides}
};\n`;
}

/**
 * Installs a small plugin package straight into `<root>/node_modules/<name>`. Its entry writes
 * `<package dir>/code-ran` when imported, so a test can tell whether the plugin's code ran.
 */
export function installFakePlugin(root: string, spec: FakePluginSpec): { dir: string; marker: string } {
  const dir = join(root, 'node_modules', spec.name);
  mkdirSync(dir, { recursive: true });
  const marker = join(dir, 'code-ran');
  const type = spec.type ?? 'fake';
  const packageJson: Record<string, unknown> = {
    name: spec.name,
    version: '1.2.3',
    type: 'module',
    main: './index.js',
    switchyard: { kind: 'driver', type, apiVersion: 1 },
    peerDependencies: { '@switchyard/core': '^0.1.0' },
  };
  for (const [key, value] of Object.entries(spec.packageJson ?? {})) {
    if (value === null) delete packageJson[key];
    else packageJson[key] = value;
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify(packageJson, null, 2));
  const markerLine = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\n`;
  writeFileSync(join(dir, 'index.js'), markerLine + (spec.body ?? manifestSource(type)));
  return { dir, marker };
}

export const codeRan = (marker: string): boolean => existsSync(marker);

export interface LoggedLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

/** A registry with placeholder ports: the registry only hands them to `create`, it never calls them. */
export function makeRegistry(options: Partial<ResolvedOptions> & { appDir: string }): { registry: PluginRegistry; ports: { kernel: Kernel; firewall: Firewall; store: StateStore }; logged: LoggedLine[] } {
  const logged: LoggedLine[] = [];
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    logged.push({ level, message, ...(fields ? { fields } : {}) });
  };
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn') };
  const ports = { kernel: { name: 'kernel' } as unknown as Kernel, firewall: { name: 'firewall' } as unknown as Firewall, store: { name: 'store' } as unknown as StateStore };
  const resolved: ResolvedOptions = { stateDir: '/var/lib/switchyard-test', runDir: '/run/switchyard-test', autoloadPlugins: true, hostPortRange: [49152, 65535], ...options };
  return { registry: new PluginRegistry(ports.kernel, ports.firewall, ports.store, logger, resolved), ports, logged };
}
