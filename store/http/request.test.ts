import { describe, expect, it } from 'vitest';
import { invalidFormBody } from '../../core/discord/rest-errors.ts';
import { parseHistoryRequest, parseMessageRequest } from './request.ts';

type Tree = Record<string, { _errors: { code: string }[] }>;

const channel_id = '1100000000000000000';

describe('history request validation', () => {
  it('accepts Discord\'s parameters', () => {
    expect(parseHistoryRequest({ channel_id }, { limit: '100', around: '1200000000000000000' })).toEqual({
      ok: true,
      value: { channelId: BigInt(channel_id), page: { limit: 100, around: 1200000000000000000n } },
    });
    expect(parseHistoryRequest({ channel_id }, {})).toEqual({ ok: true, value: { channelId: BigInt(channel_id), page: {} } });
  });

  it('reports each bad field in Discord\'s form-error shape', () => {
    const codes = (params: Record<string, unknown>, query: Record<string, unknown>) => {
      const parsed = parseHistoryRequest(params, query);
      if (parsed.ok) throw new Error('expected a failure');
      return Object.fromEntries(Object.entries(invalidFormBody(parsed.errors).errors as Tree).map(([field, e]) => [field, e._errors.map((x) => x.code)]));
    };
    expect(codes({ channel_id: 'abc' }, {})).toEqual({ channel_id: ['NUMBER_TYPE_COERCE'] });
    expect(codes({ channel_id }, { limit: '0' })).toEqual({ limit: ['NUMBER_TYPE_MIN'] });
    expect(codes({ channel_id }, { limit: '101' })).toEqual({ limit: ['NUMBER_TYPE_MAX'] });
    expect(codes({ channel_id }, { limit: 'ten' })).toEqual({ limit: ['NUMBER_TYPE_COERCE'] });
    expect(codes({ channel_id }, { limit: ['1', '2'] })).toEqual({ limit: ['NUMBER_TYPE_COERCE'] });
    expect(codes({ channel_id }, { before: '1', after: '2' })).toEqual({ before: ['BASE_TYPE_BAD_COMBINATION'], after: ['BASE_TYPE_BAD_COMBINATION'] });
    expect(codes({ channel_id }, { around: '-5' })).toEqual({ around: ['NUMBER_TYPE_COERCE'] });
  });

  it('checks both ids of a single-message request', () => {
    const parsed = parseMessageRequest({ channel_id, message_id: '12x' });
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? undefined : Object.keys(invalidFormBody(parsed.errors).errors!)).toEqual(['message_id']);
  });
});
