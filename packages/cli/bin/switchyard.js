#!/usr/bin/env node
// The `switchyard` command. CommonJS (bin/package.json), so that `--version` is answered before Node starts
// its ES module loader; anything else loads the bundle (entry.js says when) or the built entry, which loads
// only the command table; each command imports what it needs when it runs.
'use strict';

// A reader that went away (`switchyard … | head`) ends the output, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const argv = process.argv.slice(2);
// `--version`/`-V`, with or without `--json`, and nothing else: what runCli prints for it (dist/main.js).
if (argv.length > 0 && argv.every((a) => a === '--version' || a === '-V' || a === '--json') && argv.some((a) => a !== '--json')) {
  const { version } = require('../package.json');
  process.stdout.write(`${argv.includes('--json') ? JSON.stringify({ version }) : version}\n`);
} else {
  const bundled = require('./entry.js').loadBundle(argv, process.env, require('node:path').join(__dirname, '..', 'dist-bundle'));
  (bundled ? Promise.resolve(bundled) : import('../dist/main.js'))
    .then(({ runCli }) => runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env }))
    .then((code) => {
      process.exitCode = code;
    });
}
