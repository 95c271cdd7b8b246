import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * One structured JSON logger per process. Every role names itself with `role`; code below it uses
 * `logger.child({ component })`. LOG_LEVEL is read here rather than through a role's config so that
 * tools and tests log the same way.
 */
export function createLogger(role: string, options: LoggerOptions = {}): Logger {
  return pino({
    level: process.env.LOG_LEVEL ?? 'info',
    base: { role, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  });
}

/** A logger that writes nothing, for unit tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
