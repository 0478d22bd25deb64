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

describe('startup: --version and --help load only commander', () => {
  test('the entry module graph reaches commander and node built-ins only', () => {
    const { packages, files } = eagerPackages('main.ts');
    expect([...packages].filter((p) => !p.startsWith('node:')).sort()).toEqual(['commander']);
    // The command table stays small: actions import their modules when they run.
    expect(files).toEqual(['context.ts', 'main.ts', 'output/failure.ts', 'program.ts']);
  });

  test('the walker does see core where a command module imports it (so the check above can fail)', () => {
    expect(eagerPackages('commands/run.ts').packages).toContain('@switchyard/core');
  });

  test('the bin script imports the built entry and nothing else', () => {
    const bin = readFileSync(join(SRC, '..', 'bin', 'switchyard.js'), 'utf8');
    expect([...bin.matchAll(/^import .* from '([^']+)';/gm)].map((m) => m[1])).toEqual(['../dist/main.js']);
  });
});
