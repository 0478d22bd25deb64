/** Minimal structured logger port; the default discards everything below `warn`. */
export interface Logger {
  /** Detail for troubleshooting; `fields` are structured facts to print or index alongside the message. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Normal progress worth a line. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something the user should look at; the operation went on. */
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that discards everything; the default when none is given. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

/** A logger writing `<level>: <message> <fields as JSON>` lines to stderr, dropping those below `level` (default `info`). */
export function consoleLogger(level: 'debug' | 'info' | 'warn' = 'info'): Logger {
  const order = { debug: 0, info: 1, warn: 2 } as const;
  const emit = (at: keyof typeof order) => (message: string, fields?: Record<string, unknown>) => {
    if (order[at] >= order[level]) process.stderr.write(`${at}: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn') };
}
