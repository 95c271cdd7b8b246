import type { FieldError } from '../../core/discord/rest-errors.ts';
import { parseSnowflake, type Snowflake } from '../../core/discord/snowflake.ts';
import { HISTORY_LIMIT, type HistoryQuery } from '../read/history.ts';

/** On failure, every field's problems, for core/discord's `invalidFormBody` to nest into Discord's 50035 body. */
type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

class FieldCollector {
  readonly errors: FieldError[] = [];
  add(field: string, code: string, message: string): void {
    this.errors.push({ path: [field], code, message });
  }
  snowflake(field: string, raw: unknown): Snowflake | undefined {
    const id = parseSnowflake(raw);
    if (id === undefined) this.add(field, 'NUMBER_TYPE_COERCE', `Value ${JSON.stringify(String(raw))} is not snowflake.`);
    return id;
  }
  result<T>(value: T): Parsed<T> {
    return this.errors.length > 0 ? { ok: false, errors: this.errors } : { ok: true, value };
  }
}

/** Path and query of GET /channels/:channel_id/messages, checked the way Discord reports them. */
export function parseHistoryRequest(
  params: Record<string, unknown>,
  query: Record<string, unknown>,
): Parsed<{ channelId: Snowflake; page: HistoryQuery }> {
  const fields = new FieldCollector();
  const channelId = fields.snowflake('channel_id', params.channel_id);
  const page: HistoryQuery = {};
  if (query.limit !== undefined) {
    const raw = query.limit;
    if (typeof raw !== 'string' || !/^-?\d{1,10}$/.test(raw)) fields.add('limit', 'NUMBER_TYPE_COERCE', `Value ${JSON.stringify(String(raw))} is not int.`);
    else if (Number(raw) < HISTORY_LIMIT.min)
      fields.add('limit', 'NUMBER_TYPE_MIN', `int value should be greater than or equal to ${HISTORY_LIMIT.min}.`);
    else if (Number(raw) > HISTORY_LIMIT.max)
      fields.add('limit', 'NUMBER_TYPE_MAX', `int value should be less than or equal to ${HISTORY_LIMIT.max}.`);
    else page.limit = Number(raw);
  }
  const anchors = (['before', 'after', 'around'] as const).filter((k) => query[k] !== undefined);
  for (const anchor of anchors) {
    const id = fields.snowflake(anchor, query[anchor]);
    if (id !== undefined) page[anchor] = id;
  }
  if (anchors.length > 1) {
    for (const anchor of anchors)
      fields.add(anchor, 'BASE_TYPE_BAD_COMBINATION', `Only one of before, after, around may be given (got ${anchors.join(', ')}).`);
  }
  return fields.result({ channelId: channelId!, page });
}

/** Path of GET /channels/:channel_id/messages/:message_id. */
export function parseMessageRequest(params: Record<string, unknown>): Parsed<{ channelId: Snowflake; messageId: Snowflake }> {
  const fields = new FieldCollector();
  const channelId = fields.snowflake('channel_id', params.channel_id);
  const messageId = fields.snowflake('message_id', params.message_id);
  return fields.result({ channelId: channelId!, messageId: messageId! });
}
