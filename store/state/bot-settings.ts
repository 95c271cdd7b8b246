import { z } from 'zod';
import { isSnowflake } from '../../core/discord/snowflake.ts';
import type { FieldError } from '../../core/discord/rest-errors.ts';

/** Limits of the free-form part: it lives in one text cell read on every cache miss. */
export const EXTRA_LIMITS = { keys: 64, keyLength: 64, bytes: 8_192 } as const;

// zod's records never copy a `__proto__` key (JSON.parse makes it an own property): it is dropped.
const extraKey = z.string().min(1).max(EXTRA_LIMITS.keyLength);

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
const json: z.ZodType<Json> = z.lazy(() => z.union([z.string(), z.number().finite(), z.boolean(), z.null(), z.array(json), z.record(z.string(), json)]));

const extraSchema = z
  .record(extraKey, json)
  .refine((extra) => Object.keys(extra).length <= EXTRA_LIMITS.keys, { message: `at most ${EXTRA_LIMITS.keys} keys` })
  .refine((extra) => Buffer.byteLength(JSON.stringify(extra)) <= EXTRA_LIMITS.bytes, { message: `at most ${EXTRA_LIMITS.bytes} bytes of JSON` });

/** A language tag as BCP 47 spells the common ones: `en`, `en-US`, `pt-BR`, `zh-Hant-TW`. */
const LANGUAGE_TAG = /^[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|\d{3}))?(-[a-zA-Z\d]{5,8})*$/;

const fields = {
  prefix: z.string().min(1).max(32),
  language: z.string().max(35).regex(LANGUAGE_TAG, 'a BCP 47 language tag such as en-US'),
  welcome_channel_id: z.string().refine(isSnowflake, { message: 'a decimal snowflake', params: { discord: 'NUMBER_TYPE_COERCE' } }).nullable(),
};

/** The bot's own settings for one guild, as stored and as `GET .../settings` answers. */
export const botSettingsSchema = z.strictObject({ ...fields, extra: extraSchema });
export type BotSettings = z.infer<typeof botSettingsSchema>;

/**
 * A partial update: the fields present replace the stored ones; `extra` is merged key by key, a
 * key set to null is removed (RFC 7396 merge patch, one level deep), so two writers of different
 * keys do not erase each other.
 */
export const botSettingsPatchSchema = z.strictObject({ ...fields, extra: z.record(extraKey, json) }).partial();
export type BotSettingsPatch = z.infer<typeof botSettingsPatchSchema>;

export const DEFAULT_BOT_SETTINGS: BotSettings = Object.freeze({ prefix: '!', language: 'en-US', welcome_channel_id: null, extra: Object.freeze({}) as Record<string, Json> });

export class BotSettingsValidationError extends Error {
  override name = 'BotSettingsValidationError';
  constructor(readonly fields: readonly FieldError[]) {
    super('invalid bot settings: ' + fields.map((f) => `${f.path.join('.') || '(root)'}: ${f.message}`).join('; '));
  }
}

/** The settings after `patch`, validated whole (the merged `extra` must fit its limits too). */
export function applyBotSettingsPatch(current: BotSettings, patch: unknown): BotSettings {
  const parsed = botSettingsPatchSchema.safeParse(patch, { reportInput: true });
  if (!parsed.success) throw new BotSettingsValidationError(fieldErrors(parsed.error));
  const { extra: extraPatch, ...rest } = parsed.data;
  const extra = { ...current.extra };
  for (const [key, value] of Object.entries(extraPatch ?? {})) {
    if (value === null) delete extra[key];
    else extra[key] = value;
  }
  const next = botSettingsSchema.safeParse({ ...current, ...rest, extra }, { reportInput: true });
  if (!next.success) throw new BotSettingsValidationError(fieldErrors(next.error));
  return next.data;
}

/** Zod's issues as Discord's 50035 field errors (codes as Discord names them). */
export function fieldErrors(error: z.ZodError): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], code: 'UNKNOWN_FIELD', message: 'This field is not allowed.' });
      continue;
    }
    out.push({ path, code: discordCode(issue), message: issue.message });
  }
  return out;
}

function discordCode(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      return issue.origin === 'string' ? 'BASE_TYPE_MIN_LENGTH' : 'BASE_TYPE_BAD_LENGTH';
    case 'too_big':
      return issue.origin === 'string' ? 'BASE_TYPE_MAX_LENGTH' : 'BASE_TYPE_BAD_LENGTH';
    case 'invalid_type':
      return issue.input === undefined ? 'BASE_TYPE_REQUIRED' : issue.expected === 'string' ? 'BASE_TYPE_STRING' : issue.expected === 'object' || issue.expected === 'record' ? 'DICT_TYPE_CONVERT' : 'BASE_TYPE_INVALID';
    case 'custom':
      return typeof issue.params?.discord === 'string' ? issue.params.discord : 'BASE_TYPE_INVALID';
    default:
      return 'BASE_TYPE_INVALID';
  }
}
