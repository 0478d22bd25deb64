import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

// What the crash matrices compare before an operation is killed and after gc: Switchyard's nftables
// table and the state dir's files.

/**
 * Switchyard's nftables table, objects and elements in a stable order (a rebuild from the store may list
 * them in another); in the namespace `/run/netns/NS` when given, else in this one.
 */
export function firewallTable(ns?: string): string[] {
  const argv = ['-j', 'list', 'table', 'inet', 'switchyard'];
  const r = ns === undefined ? spawnSync('nft', argv, { encoding: 'utf8' }) : spawnSync('nsenter', [`--net=/run/netns/${ns}`, 'nft', ...argv], { encoding: 'utf8' });
  if (r.status !== 0) return [`(no table: ${r.stderr.trim()})`];
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v !== 'object' || v === null) return v;
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'handle')
        .map(([k, x]) => [k, k === 'elem' && Array.isArray(x) ? x.map((e) => JSON.stringify(e)).sort() : strip(x)]),
    );
  };
  return (JSON.parse(r.stdout) as { nftables: object[] }).nftables
    .filter((o) => !('metainfo' in o))
    .map((o) => JSON.stringify(strip(o)))
    .sort();
}

/**
 * Every file under a state dir with its content, keyed by its path from `base`: lock files, the DNS
 * responder's log (it grows with every SIGHUP, as any log does) and host-local's last-reserved hint
 * (CNI's own format moves it on) aside.
 */
export function stateFiles(stateDir: string, base: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name !== 'lock' && name !== 'responder.log' && !name.startsWith('last_reserved_ip') && !relative(stateDir, path).startsWith('locks/')) out[relative(base, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(stateDir);
  return out;
}
