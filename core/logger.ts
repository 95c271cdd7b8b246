import { pino, type Logger, type LoggerOptions } from 'pino';
import { env, loadEnv } from './config.ts';

export type { Logger } from 'pino';

export const logEnv = {
  LOG_LEVEL: env.oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, 'info'),
};

/** LOG_LEVEL, refused with a ConfigError naming it (pino's own "unknown level" names nothing). */
export const loadLogLevel = (source: NodeJS.ProcessEnv = process.env) => loadEnv(logEnv, source).LOG_LEVEL;

/**
 * One structured JSON logger per process. Every role names itself with `role`; code below it uses
 * `logger.child({ component })`. LOG_LEVEL is read here rather than through a role's config so that
 * tools and tests log the same way.
 */
export function createLogger(role: string, options: LoggerOptions = {}): Logger {
  return pino({
    level: loadLogLevel(),
    base: { role, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  });
}

/** A logger that writes nothing, for unit tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
