// A small leveled logger writing one line per event to stderr; quiet in tests unless asked.
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

export function createLogger(prefix = 'buildbox', level: 'debug' | 'info' | 'warn' | 'silent' = 'info'): Logger {
  const order = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 } as const;
  const min = order[level];
  const out = (l: keyof typeof order, msg: string) => {
    if (order[l] >= min) process.stderr.write(`${new Date().toISOString()} ${l.toUpperCase()} ${prefix}: ${msg}\n`);
  };
  return {
    debug: (m) => out('debug', m),
    info: (m) => out('info', m),
    warn: (m) => out('warn', m),
    error: (m) => out('error', m),
  };
}
