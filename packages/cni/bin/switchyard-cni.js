#!/usr/bin/env node
// A Switchyard CNI plugin: `--plugin NAME` (as the installed wrappers pass it) or the name it runs under.
import { basename } from 'node:path';
import { runCniExecutable } from '../dist/entry.js';

const at = process.argv.indexOf('--plugin');
const name = at >= 0 ? (process.argv[at + 1] ?? '') : basename(process.argv[1] ?? '');
const chunks = [];
if (!process.stdin.isTTY) for await (const chunk of process.stdin) chunks.push(chunk);
const { stdout, exitCode } = await runCniExecutable(name, process.env, Buffer.concat(chunks).toString('utf8'));
process.stdout.write(stdout);
process.exitCode = exitCode;
