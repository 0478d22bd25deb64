#!/usr/bin/env node
// The `switchyard` command. Loads only the command table; each command imports what it needs when it runs.
import { runCli } from '../dist/main.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
