import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '@switchyard/core';

/** A temp state dir that tests write hand-made network and sandbox documents into, as the FileStore would (temp file, rename). */
export class StateDocs {
  readonly stateDir: string;

  constructor(stateDir?: string) {
    this.stateDir = stateDir ?? mkdtempSync(join(tmpdir(), 'swy-dns-'));
  }

  network(name: string, fields: { id?: string; dns?: boolean; gateway4?: string; gateway6?: string }): NetworkRecord {
    const doc: NetworkRecord = {
      id: fields.id ?? `${name}-id`,
      name,
      driver: 'bridge',
      ipamDriver: 'host-local',
      ...(fields.gateway4 !== undefined ? { ipv4: { poolId: 'p4', subnet: '10.0.0.0/8', gateway: fields.gateway4 } } : {}),
      ...(fields.gateway6 !== undefined ? { ipv6: { poolId: 'p6', subnet: 'fd00::/8', gateway: fields.gateway6 } } : {}),
      internal: false,
      ...(fields.dns !== undefined ? { dns: fields.dns } : {}),
      labels: {},
      options: {},
      driverState: {},
      notes: [],
      createdAt: new Date(0).toISOString(),
    };
    this.put('networks', name, doc);
    return doc;
  }

  sandbox(name: string, endpoints: Array<{ network: string; ipv4?: string; ipv6?: string; aliases?: string[] }>, hostname = name): SandboxRecord {
    const doc: SandboxRecord = {
      id: `${name}-id`,
      name,
      mode: 'isolated',
      netns: { kind: 'named', name: `swy-${name}` },
      ownsNetns: true,
      hostname,
      dns: { nameservers: [], search: [], options: [] },
      extraHosts: [],
      labels: {},
      endpoints: endpoints.map(
        (e) =>
          ({
            networkId: `${e.network}-id`,
            networkName: e.network,
            ...(e.ipv4 !== undefined ? { ipv4: e.ipv4 } : {}),
            ...(e.ipv6 !== undefined ? { ipv6: e.ipv6 } : {}),
            aliases: e.aliases ?? [],
          }) as unknown as EndpointRecord,
      ),
      createdAt: new Date(0).toISOString(),
    };
    this.put('sandboxes', name, doc);
    return doc;
  }

  remove(collection: 'networks' | 'sandboxes', name: string): void {
    unlinkSync(join(this.stateDir, collection, `${name}.json`));
  }

  cleanup(): void {
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  private put(collection: string, name: string, doc: unknown): void {
    const dir = join(this.stateDir, collection);
    mkdirSync(dir, { recursive: true });
    const temp = join(dir, `.${name}.json.${process.pid}.0.tmp`);
    writeFileSync(temp, JSON.stringify(doc, null, 2) + '\n');
    renameSync(temp, join(dir, `${name}.json`));
  }
}
