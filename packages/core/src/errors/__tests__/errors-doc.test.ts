import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../codes.js';

const doc = readFileSync(new URL('../../../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map([...doc.matchAll(/^\| `(SWY_ERR_[A-Z_]+)` +\| (\w+) +\| (.+?) +\|$/gm)].map((m) => [m[1] as string, { kind: m[2], text: m[3] }]));

describe('docs/errors.md', () => {
  it('documents every error code with the kind the code has', () => {
    const missing = Object.keys(ERROR_CODES).filter((c) => !documented.has(c));
    expect(missing).toEqual([]);
    for (const [code, kind] of Object.entries(ERROR_CODES)) expect(`${code} ${documented.get(code)?.kind}`).toBe(`${code} ${kind}`);
  });

  it('documents no code that the code base does not have', () => {
    expect([...documented.keys()].filter((c) => !(c in ERROR_CODES))).toEqual([]);
  });
});
