import { describe, expect, it } from 'vitest';
import { invalidFormBody } from '../../core/discord/rest-errors.ts';
import { applyBotSettingsPatch, BotSettingsValidationError, DEFAULT_BOT_SETTINGS, EXTRA_LIMITS } from './bot-settings.ts';

const failures = (patch: unknown) => {
  try {
    applyBotSettingsPatch(DEFAULT_BOT_SETTINGS, patch);
  } catch (err) {
    if (err instanceof BotSettingsValidationError) return invalidFormBody(err.fields);
    throw err;
  }
  throw new Error('patch was accepted');
};

describe('bot settings', () => {
  it('applies a partial update: fields replace, extra merges key by key and null removes a key', () => {
    const first = applyBotSettingsPatch(DEFAULT_BOT_SETTINGS, { prefix: '?', extra: { a: 1, b: { deep: [true, null] } } });
    expect(first).toEqual({ prefix: '?', language: 'en-US', welcome_channel_id: null, extra: { a: 1, b: { deep: [true, null] } } });
    const second = applyBotSettingsPatch(first, { language: 'pt-BR', welcome_channel_id: '81384788765712385', extra: { a: null, c: 'x' } });
    expect(second).toEqual({ prefix: '?', language: 'pt-BR', welcome_channel_id: '81384788765712385', extra: { b: { deep: [true, null] }, c: 'x' } });
    expect(applyBotSettingsPatch(second, { welcome_channel_id: null }).welcome_channel_id).toBeNull();
    expect(applyBotSettingsPatch(second, {})).toEqual(second);
  });

  it("refuses invalid fields with Discord's errors tree", () => {
    expect(failures({ prefix: '' })).toEqual({
      message: 'Invalid Form Body',
      code: 50035,
      errors: { prefix: { _errors: [{ code: 'BASE_TYPE_MIN_LENGTH', message: expect.any(String) }] } },
    });
    expect(failures({ prefix: 'x'.repeat(33) }).errors).toEqual({ prefix: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: expect.any(String) }] } });
    expect(failures({ prefix: 5 }).errors).toEqual({ prefix: { _errors: [{ code: 'BASE_TYPE_STRING', message: expect.any(String) }] } });
    expect(failures({ language: 'english please' }).errors).toHaveProperty('language._errors');
    expect(failures({ welcome_channel_id: 'general' }).errors).toEqual({ welcome_channel_id: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'a decimal snowflake' }] } });
    expect(failures({ colour: 'red' }).errors).toEqual({ colour: { _errors: [{ code: 'UNKNOWN_FIELD', message: expect.any(String) }] } });
    expect(failures([]).errors).toHaveProperty('_errors');
  });

  it('bounds extra: keys, key length, and the JSON size of the merged object', () => {
    expect(failures({ extra: { ['k'.repeat(EXTRA_LIMITS.keyLength + 1)]: 1 } }).errors).toHaveProperty('extra');
    const many = Object.fromEntries(Array.from({ length: EXTRA_LIMITS.keys + 1 }, (_, i) => [`k${i}`, i]));
    expect(failures({ extra: many }).errors).toEqual({ extra: { _errors: [{ code: 'BASE_TYPE_INVALID', message: `at most ${EXTRA_LIMITS.keys} keys` }] } });
    // Each patch fits; together they do not.
    const half = 'x'.repeat(EXTRA_LIMITS.bytes / 2);
    const once = applyBotSettingsPatch(DEFAULT_BOT_SETTINGS, { extra: { a: half } });
    expect(() => applyBotSettingsPatch(once, { extra: { b: half } })).toThrow(BotSettingsValidationError);
    expect(failures({ language: 'en-US', extra: { n: Number.NaN } }).errors).toHaveProperty('extra');
  });

  it('drops a __proto__ key anywhere in extra, and pollutes no prototype', () => {
    const top = applyBotSettingsPatch(DEFAULT_BOT_SETTINGS, JSON.parse('{"extra":{"__proto__":{"polluted":true},"a":1}}'));
    const nested = applyBotSettingsPatch(DEFAULT_BOT_SETTINGS, JSON.parse('{"extra":{"a":{"__proto__":{"polluted":true}}}}'));
    expect([JSON.stringify(top.extra), JSON.stringify(nested.extra)]).toEqual(['{"a":1}', '{"a":{}}']);
    expect([Object.getPrototypeOf(top.extra), Object.getPrototypeOf(nested.extra.a)]).toEqual([Object.prototype, Object.prototype]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts common language tags', () => {
    for (const language of ['en', 'en-US', 'pt-BR', 'zh-Hant-TW', 'es-419', 'fil'])
      expect(applyBotSettingsPatch(DEFAULT_BOT_SETTINGS, { language }).language).toBe(language);
  });
});
