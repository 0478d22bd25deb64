import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocumentDirectory, type DirectoryStamp } from '../document-directory.js';

let root: string;
let dir: string;
// The directory's stamp as the test decides it: a file system whose timestamps move in coarse ticks.
let stamp: DirectoryStamp;
let doc: DocumentDirectory<{ v: number }>;

const write = (name: string, v: number) => {
  writeFileSync(join(dir, `.${name}.json.1.0.tmp`), JSON.stringify({ v }));
  renameSync(join(dir, `.${name}.json.1.0.tmp`), join(dir, `${name}.json`));
};
const values = () =>
  doc
    .documents()
    .map((d) => d.v)
    .sort((a, b) => a - b);
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'swy-dns-dir-'));
  dir = join(root, 'sandboxes');
  mkdirSync(dir);
  stamp = { ino: 1n, mtimeNs: nowNs(), ctimeNs: nowNs() };
  doc = new DocumentDirectory(dir, undefined, () => stamp);
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

test('two changes within one timestamp tick are both seen, each at the check right after it', () => {
  write('a', 1);
  expect(doc.check()).toBe(true);
  expect(values()).toEqual([1]);
  // The directory's times did not move (same tick), but they are recent: the check lists it again.
  write('a', 2);
  expect(doc.check()).toBe(true);
  expect(values()).toEqual([2]);
  write('b', 3);
  expect(doc.check()).toBe(true);
  expect(values()).toEqual([2, 3]);
  expect(doc.check()).toBe(false);
});

test('a settled directory whose times did not move is not listed again (one stat per check)', () => {
  stamp = { ino: 1n, mtimeNs: nowNs() - 60_000_000_000n, ctimeNs: nowNs() - 60_000_000_000n };
  write('a', 1);
  expect(doc.check()).toBe(true);
  write('a', 2);
  // Unchanged and old: the document is not looked at (the real directory's times would have moved).
  expect(doc.check()).toBe(false);
  expect(values()).toEqual([1]);
  stamp = { ...stamp, mtimeNs: stamp.mtimeNs + 1n };
  expect(doc.check()).toBe(true);
  expect(values()).toEqual([2]);
});

test('whole-second timestamps keep a directory in doubt for two seconds', () => {
  const second = (nowNs() / 1_000_000_000n) * 1_000_000_000n;
  stamp = { ino: 1n, mtimeNs: second - 1_000_000_000n, ctimeNs: second - 1_000_000_000n };
  write('a', 1);
  expect(doc.check()).toBe(true);
  write('a', 2);
  expect(doc.check()).toBe(true);
  expect(values()).toEqual([2]);
});

test('documents that go away are dropped; an absent directory has none', () => {
  write('a', 1);
  write('b', 2);
  doc.check();
  rmSync(join(dir, 'a.json'));
  expect(doc.check()).toBe(true);
  expect(values()).toEqual([2]);
  const gone = new DocumentDirectory(join(root, 'missing'));
  expect(gone.check()).toBe(false);
  expect(gone.documents()).toEqual([]);
});
