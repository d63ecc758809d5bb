import { pino, type Logger } from 'pino';

export type { Logger };

/** How long a log line may wait in the buffer, at most. */
export const LOG_FLUSH_MS = 1000;

/**
 * Standard output written in blocks of at least 4 KiB, and at least every LOG_FLUSH_MS, the way
 * nginx buffers its access log (`buffer=… flush=…`): one write per request line was a third of the
 * server's CPU under load. Whatever is buffered is written synchronously when the process exits,
 * including on an uncaught exception; a SIGKILL loses up to the last second of log lines. No state
 * lives in the log: the audit trail is in SQLite.
 */
function bufferedStdout(): pino.DestinationStream {
  const out = pino.destination({ dest: 1, minLength: 4096, sync: false });
  setInterval(() => {
    try {
      out.flush();
    } catch {
      // Destroyed at exit: nothing left to write.
    }
  }, LOG_FLUSH_MS).unref();
  return out;
}

/** The one root logger. Tokens must never reach a log line, so every place they travel is redacted. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'switchyard' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'authorization',
        'token',
        '*.token',
      ],
      censor: '[redacted]',
    },
  };
  return pino(options, destination ?? bufferedStdout());
}
