import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { SwitchyardError, type ErrorCode } from '@switchyard/core';

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(prefix = 'swy-ipam-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Every file under `root` with its content, for before/after comparisons. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        out[relative(root, path) + '/'] = '';
        walk(path);
      } else out[relative(root, path)] = readFileSync(path, 'latin1');
    }
  };
  walk(root);
  return out;
}

/** Runs fn and returns the SwitchyardError it throws (failing the test if it throws anything else or nothing). */
export async function caught(fn: () => unknown): Promise<SwitchyardError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof SwitchyardError) return e;
    throw e;
  }
  throw new Error('expected a SwitchyardError, but the call succeeded');
}

/** Asserts the error has the code, names `mentions` in its sentence and carries a hint. */
export function expectCoded(error: SwitchyardError, code: ErrorCode, ...mentions: string[]): void {
  expect(error.code).toBe(code);
  for (const m of mentions) expect(error.message).toContain(m);
  expect(error.hint).toEqual(expect.any(String));
  expect(error.hint!.length).toBeGreaterThan(10);
}
