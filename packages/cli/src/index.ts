// @switchyard/cli — the reference command line, usable as a library: runCli(argv, io, deps) -> exit status.
export { runCli, type CliDeps, type CliIo, type TextSink } from './main.js';
export { EXIT_CODES, type Failure } from './output/failure.js';
