#!/usr/bin/env node
// The DNS responder of a state dir: `switchyard-dns --state-dir DIR [--upstream ADDR]... [--port N]`.
// Started detached by @switchyard/dns's process manager, or run in the foreground.
import { runResponder } from '../dist/main.js';

process.exit(await runResponder(process.argv.slice(2)));
