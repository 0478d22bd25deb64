/**
 * The plugin executable's process side: the plugin name from `--plugin NAME` (as the installed wrappers
 * pass it) or the name the script runs under, stdin in, stdout and the exit code out. stdin and stdout go
 * through fs synchronously: process.stdin and process.stdout on a pipe load Node's net and stream modules,
 * which cost more than a whole VERSION (docs/cni.md, "Start-up cost").
 */
import { fstatSync, readFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { runCniExecutable } from './entry.js';

/** stdin as text: '' for a terminal (a character device, as /dev/null is) or a closed stdin. */
export async function readStdin(): Promise<string> {
  try {
    // bigint: on Node 20 a plain fstatSync of a pipe here made the next import resolve pnpm's symlinked
    // packages without following the links (core's tsyringe then could not find tslib).
    if (fstatSync(0, { bigint: true }).isCharacterDevice()) return '';
    return readFileSync(0, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EBADF') return '';
    // A non-blocking pipe (EAGAIN), or anything else unusual: the stream reads it.
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
}

/** Writes all of `text` to stdout; a non-blocking stdout (EAGAIN) goes through the stream. */
export async function writeStdout(text: string): Promise<void> {
  const buffer = Buffer.from(text, 'utf8');
  let done = 0;
  try {
    while (done < buffer.length) done += writeSync(1, buffer, done);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    await new Promise<void>((resolve, reject) => process.stdout.write(buffer.subarray(done), (e) => (e ? reject(e) : resolve())));
  }
}

/** One plugin run: reads stdin, runs the command the environment names, writes the result, sets the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const at = argv.indexOf('--plugin');
  const name = at >= 0 ? (argv[at + 1] ?? '') : basename(argv[1] ?? '');
  const { stdout, exitCode } = await runCniExecutable(name, process.env, await readStdin());
  await writeStdout(stdout);
  process.exitCode = exitCode;
}
