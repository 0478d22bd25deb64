#!/usr/bin/env node
// A Switchyard CNI plugin, unbundled: `--plugin NAME` (as the installed wrappers pass it) or the name it
// runs under. `switchyard cni install` points the wrappers at the bundle (dist-bundle/) when it is built.
import { main } from '../dist/main.js';

await main();
