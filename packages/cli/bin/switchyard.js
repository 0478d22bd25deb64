#!/usr/bin/env node
// The `switchyard` command. Loads only the command table; each command imports what it needs when it runs.
import { runCli } from '../dist/main.js';

// A reader that went away (`switchyard … | head`) ends the output, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
