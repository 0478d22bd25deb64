import type { NetworkRecord, SandboxRecord } from '@switchyard/core';
import { usageError } from '../flags.js';
import { shortId } from './views.js';

/** What `network ls` and `sandbox ls` take to script like `docker network ls`: `-q`, `--filter`, `--format`. */
export interface ListFlags {
  quiet?: boolean;
  filter?: string[];
  format?: string;
}

/** What a `--format` template and a `--filter` see of one row: text fields, and the labels. */
export interface Row {
  fields: Record<string, string>;
  labels: Record<string, string>;
}

/** A network as a list row: Docker's field names (`{{.Name}}`, `{{.ID}}`, `{{.Driver}}`…). */
export function networkRow(n: NetworkRecord, sandboxes: readonly SandboxRecord[]): Row {
  const fields = {
    ID: shortId(n.id),
    Name: n.name,
    Driver: n.driver,
    Scope: 'local',
    Subnet: n.ipv4?.subnet ?? '',
    Gateway: n.ipv4?.gateway ?? '',
    IPv6: n.ipv6 ? 'true' : 'false',
    Subnet6: n.ipv6?.subnet ?? '',
    Internal: n.internal ? 'true' : 'false',
    Sandboxes: String(sandboxes.filter((s) => s.endpoints.some((e) => e.networkId === n.id)).length),
    CreatedAt: n.createdAt,
  };
  return { fields, labels: n.labels };
}

/** A sandbox as a list row. */
export function sandboxRow(s: SandboxRecord): Row {
  const fields = {
    ID: shortId(s.id),
    Name: s.name,
    Mode: s.mode,
    Networks: s.endpoints.map((e) => e.networkName).join(','),
    Addresses: s.endpoints.flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => a !== undefined)).join(','),
    CreatedAt: s.createdAt,
  };
  return { fields, labels: s.labels };
}

/** Whether the flags ask for one scripted line per row (`-q` or `--format`) instead of the table. */
export function scripted(f: ListFlags): boolean {
  return f.quiet === true || f.format !== undefined;
}

/** The scripted lines: the short id (`-q`) or the `--format` template, per row. */
export function scriptLines(rows: readonly Row[], f: ListFlags): string {
  return rows.map((row) => `${f.quiet || f.format === undefined ? row.fields.ID : formatRow(f.format, row)}\n`).join('');
}

/** `--filter KEY=VALUE` (repeatable), as Docker's: the same key given twice is "either", different keys are "all". */
export function parseFilters(filters: readonly string[], keys: readonly string[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const at = f.indexOf('=');
    const key = at < 0 ? f : f.slice(0, at);
    if (at <= 0 || !keys.includes(key)) throw usageError(`Invalid filter ${JSON.stringify(f)}`, `Write --filter KEY=VALUE with KEY one of ${keys.join(', ')} (label=KEY or label=KEY=VALUE).`);
    byKey.set(key, [...(byKey.get(key) ?? []), f.slice(at + 1)]);
  }
  return byKey;
}

/** Whether a row passes the filters: `name` and `id` match a part (Docker: a substring and a prefix), `label` a key or key=value, the rest exactly. */
export function rowMatches(row: Row, filters: Map<string, string[]>, fullId: string): boolean {
  for (const [key, values] of filters) {
    const ok = values.some((v) => {
      if (key === 'name') return (row.fields.Name ?? '').includes(v);
      if (key === 'id') return fullId.startsWith(v);
      if (key === 'label') {
        const at = v.indexOf('=');
        return at < 0 ? Object.hasOwn(row.labels, v) : row.labels[v.slice(0, at)] === v.slice(at + 1);
      }
      if (key === 'network') return (row.fields.Networks ?? '').split(',').includes(v);
      return row.fields[key.charAt(0).toUpperCase() + key.slice(1)] === v;
    });
    if (!ok) return false;
  }
  return true;
}

/**
 * A row through a Go-template-like `--format`, as `docker network ls --format` takes it: `{{.Field}}`,
 * `{{.Labels}}` (k=v,…), `{{.Label "key"}}`, `{{json .}}` and `{{json .Field}}`; `\t` and `\n` as escapes.
 * An unknown field is a usage error naming the fields there are.
 */
export function formatRow(template: string, row: Row): string {
  const text = template.replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  const labelsText = Object.entries(row.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return text.replace(/\{\{\s*(json\s+)?\.([A-Za-z0-9]*)(?:\s+"([^"]*)")?\s*\}\}/g, (whole, json: string | undefined, field: string, arg: string | undefined) => {
    if (field === '') return json ? JSON.stringify({ ...row.fields, Labels: row.labels }) : whole;
    if (field === 'Label' && arg !== undefined) return row.labels[arg] ?? '';
    if (field === 'Labels') return json ? JSON.stringify(row.labels) : labelsText;
    const value = row.fields[field];
    if (value === undefined) throw usageError(`--format: no field ${JSON.stringify(field)}`, `Fields: ${[...Object.keys(row.fields), 'Labels'].join(', ')}, and {{.Label "key"}}, {{json .}}.`);
    return json ? JSON.stringify(value) : value;
  });
}
