import { z } from 'zod';

/**
 * Every role reads its settings from environment variables through one of these schemas, so a bad
 * value stops the process at start-up with a message that names the variable and what it expects,
 * instead of failing later somewhere far from the cause.
 */
export type EnvSchema = Record<string, z.ZodType>;
export type EnvConfig<S extends EnvSchema> = { [K in keyof S]: z.output<S[K]> };

export interface ConfigProblem {
  variable: string;
  expected: string;
  got: string | undefined;
}

/** A rule across variables (min not above max, say), run once every variable parsed on its own. */
export type EnvCheck<C> = (config: C) => ConfigProblem | undefined;

/** The longest delay Node's timers keep: a longer one fires after 1 ms instead (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      'invalid configuration:\n' +
        problems
          .map((p) => `  ${p.variable}: expected ${p.expected}, got ${p.got === undefined ? '(unset)' : JSON.stringify(p.got)}`)
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export function loadEnv<S extends EnvSchema>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
  checks: readonly EnvCheck<EnvConfig<S>>[] = [],
): EnvConfig<S> {
  const out: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [variable, type] of Object.entries(schema)) {
    const raw = env[variable];
    const parsed = type.safeParse(raw === '' ? undefined : raw);
    if (parsed.success) out[variable] = parsed.data;
    else problems.push({ variable, expected: describe(type, parsed.error), got: raw });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  for (const check of checks) {
    const problem = check(out as EnvConfig<S>);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as EnvConfig<S>;
}

/** `lower` must not exceed `upper` (a retry minimum and maximum, say); the message names both. */
export function atMost<K extends string>(lower: K, upper: K): EnvCheck<Record<K, number>> {
  return (config) =>
    config[lower] <= config[upper]
      ? undefined
      : { variable: lower, expected: `at most ${upper} (${config[upper]})`, got: String(config[lower]) };
}

function describe(type: z.ZodType, error: z.ZodError): string {
  return type.description ?? error.issues.map((i) => i.message).join('; ');
}

/** Builders for the shapes our variables take; each carries a description used in error messages. */
export const env = {
  string: (fallback?: string) =>
    (fallback === undefined ? z.string().min(1) : z.string().min(1).default(fallback)).describe('a non-empty string'),

  optionalString: () => z.string().min(1).optional().describe('a non-empty string, or unset'),

  int: (fallback: number, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}) =>
    z
      .string()
      .regex(/^-?\d+$/)
      .transform(Number)
      .pipe(z.number().int().min(min).max(max))
      .default(fallback)
      .describe(`an integer from ${min} to ${max}`),

  /**
   * Milliseconds that end up in a timer: capped at what Node's timers hold (2^31-1 ms, about 24.8
   * days), because a longer one silently fires after 1 ms.
   */
  duration: (fallback: number, { min = 0, max = MAX_TIMER_MS }: { min?: number; max?: number } = {}) => {
    if (max > MAX_TIMER_MS) throw new RangeError(`a duration cannot exceed ${MAX_TIMER_MS} ms (Node's timer limit), got max ${max}`);
    return z
      .string()
      .regex(/^\d+$/)
      .transform(Number)
      .pipe(z.number().int().min(min).max(max))
      .default(fallback)
      .describe(`milliseconds from ${min} to ${max}`);
  },

  /** A TCP port to listen on; 0 picks a free one. */
  port: (fallback: number) =>
    z
      .string()
      .regex(/^\d{1,5}$/)
      .transform(Number)
      .pipe(z.number().int().min(0).max(65_535))
      .default(fallback)
      .describe('a TCP port from 0 (any free one) to 65535'),

  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .default(fallback)
      .describe('true or false'),

  oneOf: <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
    z.enum(values).default(fallback as never).describe(`one of ${values.join(', ')}`),

  /** Comma-separated list, e.g. `127.0.0.1:9092,127.0.0.1:9094`. */
  list: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(z.string()).min(1))
      .describe('a comma-separated list with at least one entry'),

  hostPorts: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^[^\s:,]+:\d{1,5}$/).refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65_535)).min(1))
      .describe('a comma-separated list of host:port (port at most 65535)'),

  url: (fallback?: string) =>
    (fallback === undefined ? z.url() : z.url().default(fallback)).describe('an absolute URL'),
};
