import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Modules loaded eagerly from a source file: static imports and re-exports, not `import type` or `await import()`. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)(?:[\s\S]*?\sfrom\s+)?'([^']+)';/gm)) specs.push(m[1] as string);
  return specs;
}

/** Every package reached from `entry` through static imports, following the CLI's own files. */
function eagerPackages(entry: string): { packages: Set<string>; files: string[] } {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const queue = [join(SRC, entry)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) queue.push(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  }
  return { packages, files: [...seen].map((f) => f.slice(SRC.length + 1)).sort() };
}

describe('startup: --version loads no package, --help only commander', () => {
  test('the entry module graph reaches node built-ins only (--version is answered there)', () => {
    const { packages, files } = eagerPackages('main.ts');
    expect([...packages].filter((p) => !p.startsWith('node:')).sort()).toEqual([]);
    expect(files).toEqual(['context.ts', 'main.ts', 'output/failure.ts']);
  });

  test('the command table main.ts loads for everything else reaches commander only', () => {
    const main = readFileSync(join(SRC, 'main.ts'), 'utf8');
    expect([...main.matchAll(/import\('([^']+)'\)/g)].map((m) => m[1])).toEqual(['./program.js']);
    const { packages, files } = eagerPackages('program.ts');
    expect([...packages].filter((p) => !p.startsWith('node:')).sort()).toEqual(['commander']);
    // The command table stays small: actions import their modules when they run.
    expect(files).toEqual(['context.ts', 'program.ts']);
  });

  test('the walker does see core where a command module imports it (so the check above can fail)', () => {
    expect(eagerPackages('commands/run.ts').packages).toContain('@switchyard/core');
  });

  test('the bin script loads the built entry (or the bundle entry.js picks) and nothing else (and package.json for --version)', () => {
    const bin = readFileSync(join(SRC, '..', 'bin', 'switchyard.js'), 'utf8');
    const loads = (text: string) => [...text.matchAll(/\b(?:import|require)\(?\s*'([^']+)'/g)].map((m) => m[1]);
    expect(loads(bin)).toEqual(['../package.json', './entry.js', 'node:path', '../dist/main.js']);
    // entry.js chooses with Node's built-ins alone (the bundle and its loader are required by computed path).
    expect(loads(readFileSync(join(SRC, '..', 'bin', 'entry.js'), 'utf8'))).toEqual(['node:fs', 'node:path']);
    expect(bin).not.toMatch(/^import /m);
    // CommonJS, so that --version is answered before Node starts its ES module loader.
    expect(JSON.parse(readFileSync(join(SRC, '..', 'bin', 'package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  });
});
