import { readFileSync } from 'node:fs';
import { PLUGIN_CHECKS } from '../plugin-checks.js';

describe('docs/writing-a-driver.md', () => {
  it('lists the plugin checks in the order they run, with the codes they fail with', () => {
    const guide = readFileSync(new URL('../../../../../docs/writing-a-driver.md', import.meta.url), 'utf8');
    // Rows of the checks table look like: | 1 | `package-resolves` | `SWY_ERR_PLUGIN_NOT_FOUND` | ... (cells may be padded)
    const rows = [...guide.matchAll(/^\| (\d+) +\| `([a-z-]+)` +\| `(SWY_ERR_[A-Z_]+)` +\|/gm)].map((m) => [Number(m[1]), m[2], m[3]]);

    expect(rows).toEqual(PLUGIN_CHECKS.map((c, i) => [i + 1, c.name, c.code]));
  });
});
