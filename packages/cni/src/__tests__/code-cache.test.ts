import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireWithCodeCache, writeCodeCache } from '../code-cache.js';

describe('requireWithCodeCache (the bundle loader of the CNI executables)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'swy-codecache-'));
    file = join(dir, 'part.cjs');
    writeFileSync(file, "const { join } = require('node:path');\nmodule.exports = { answer: 42, here: join(__dirname, 'x'), file: __filename };\n");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a CommonJS file with its require, __dirname and __filename, with or without a cache', () => {
    expect(requireWithCodeCache(file)).toEqual({ answer: 42, here: join(dir, 'x'), file });
    writeCodeCache(file);
    expect(readFileSync(`${file}.cache`).length).toBeGreaterThan(0);
    expect(requireWithCodeCache(file)).toEqual({ answer: 42, here: join(dir, 'x'), file });
  });

  it('compiles from source when the cache does not fit', () => {
    writeFileSync(`${file}.cache`, 'not a code cache');
    expect(requireWithCodeCache(file)).toMatchObject({ answer: 42 });
  });

  it("writes a command's own cache once the process ends well, and only for a plain command name", () => {
    requireWithCodeCache(file, 'ADD');
    requireWithCodeCache(file, '../ADD');
    const exitCode = process.exitCode;
    try {
      process.exitCode = 0;
      process.emit('beforeExit', 0);
    } finally {
      process.exitCode = exitCode;
    }
    expect(readdirSync(dir).sort()).toEqual(['part.cjs', 'part.cjs.ADD.cache']);
    expect(requireWithCodeCache(file, 'ADD')).toMatchObject({ answer: 42 });
  });
});
