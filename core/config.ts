import { z } from 'zod';

/**
 * Every role reads its settings from environment variables through one of these schemas, so a bad
 * value stops the process at start-up with a message that names the variable and what it expects,
 * instead of failing later somewhere far from the cause.
 */
export type EnvSchema = Record<string, z.ZodType>;
export type EnvConfig<S extends EnvSchema> = { [K in keyof S]: z.output<S[K]> };

export class ConfigError extends Error {
  constructor(readonly problems: readonly { variable: string; expected: string; got: string | undefined }[]) {
    super(
      'invalid configuration:\n' +
        problems
          .map((p) => `  ${p.variable}: expected ${p.expected}, got ${p.got === undefined ? '(unset)' : JSON.stringify(p.got)}`)
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export function loadEnv<S extends EnvSchema>(schema: S, env: NodeJS.ProcessEnv = process.env): EnvConfig<S> {
  const out: Record<string, unknown> = {};
  const problems: { variable: string; expected: string; got: string | undefined }[] = [];
  for (const [variable, type] of Object.entries(schema)) {
    const raw = env[variable];
    const parsed = type.safeParse(raw === '' ? undefined : raw);
    if (parsed.success) out[variable] = parsed.data;
    else problems.push({ variable, expected: describe(type, parsed.error), got: raw });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as EnvConfig<S>;
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
      .pipe(z.array(z.string().regex(/^[^\s:,]+:\d{1,5}$/)).min(1))
      .describe('a comma-separated list of host:port'),

  url: (fallback?: string) =>
    (fallback === undefined ? z.url() : z.url().default(fallback)).describe('an absolute URL'),
};
