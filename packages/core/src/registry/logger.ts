/** Minimal structured logger port; the default discards everything below `warn`. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

export function consoleLogger(level: 'debug' | 'info' | 'warn' = 'info'): Logger {
  const order = { debug: 0, info: 1, warn: 2 } as const;
  const emit = (at: keyof typeof order) => (message: string, fields?: Record<string, unknown>) => {
    if (order[at] >= order[level]) process.stderr.write(`${at}: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn') };
}
