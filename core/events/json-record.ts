import type { z } from 'zod';

/**
 * A Kafka record value parsed as JSON and checked against `schema`, or a throw of `fail(reason)`
 * with a reason fit for a dead-letter header: every record contract on our topics reads this way.
 */
export function parseJsonRecord<S extends z.ZodType>(value: Buffer | string | null | undefined, schema: S, what: string, fail: (reason: string) => Error): z.infer<S> {
  if (value == null) throw fail('empty record value');
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    throw fail(`value is not JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw fail(`invalid ${what}: ` + parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return parsed.data;
}
