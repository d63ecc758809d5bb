import { pino, type Logger } from 'pino';

export type { Logger };

/** How long a log line may wait in the buffer, at most. */
export const LOG_FLUSH_MS = 1000;

/**
 * Standard output written in blocks of at least 4 KiB, and at least every LOG_FLUSH_MS, the way
 * nginx buffers its access log (`buffer=… flush=…`): a write per request line, on the main thread
 * or through the thread pool, cost more than the OFREP evaluation it logged. What is buffered is
 * written when the process exits, an uncaught exception included; a SIGKILL loses up to the last
 * second of log lines. No state lives in the log: the audit trail is in SQLite.
 */
function bufferedStdout(): pino.DestinationStream {
  const out = pino.destination({ dest: 1, minLength: 4096, sync: true });
  const flush = () => {
    try {
      out.flushSync();
    } catch {
      // Already closed, or stdout is gone: nothing more can be written.
    }
  };
  setInterval(flush, LOG_FLUSH_MS).unref();
  process.on('exit', flush);
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
