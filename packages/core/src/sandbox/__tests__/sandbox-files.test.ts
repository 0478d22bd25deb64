import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SandboxRecord } from '../../model/types.js';
import { SandboxFiles } from '../sandbox-files.js';

const sandbox = (endpoints: Array<{ ipv4: string; aliases: string[] }>): SandboxRecord =>
  ({
    id: 'sbx1',
    name: 'web',
    hostname: 'web',
    endpoints,
    extraHosts: [],
    dns: { nameservers: ['10.0.0.53'], search: [], options: [] },
  }) as unknown as SandboxRecord;

describe('SandboxFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'swy-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('writeHosts rewrites the hosts file in place (same inode, so a bind mount of it sees the change), shorter content included', async () => {
    const files = new SandboxFiles(dir);
    const path = join(await files.write(sandbox([{ ipv4: '10.1.0.2/24', aliases: ['api', 'a-much-longer-alias-than-the-next-one'] }])), 'hosts');
    const before = statSync(path).ino;
    await files.writeHosts(sandbox([{ ipv4: '10.1.0.3/24', aliases: [] }]));
    expect(statSync(path).ino).toBe(before);
    expect(readFileSync(path, 'utf8')).toBe('127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.1.0.3\tweb\n');
  });

  test('writeHosts writes both files when the directory is missing', async () => {
    const files = new SandboxFiles(dir);
    await files.writeHosts(sandbox([]));
    expect(readFileSync(join(files.dirFor({ id: 'sbx1' }), 'resolv.conf'), 'utf8')).toBe('nameserver 10.0.0.53\n');
  });
});
