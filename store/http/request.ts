import { HISTORY_LIMIT, type HistoryQuery } from '../read/history.ts';
import { parseSnowflake, type Snowflake } from '../model/snowflake.ts';

export interface FormError {
  code: string;
  message: string;
}
/** Discord's per-field error list, as in `{"errors": {"limit": {"_errors": [...]}}}`. */
export type FieldErrors = Record<string, { _errors: FormError[] }>;

export const INVALID_FORM_BODY = 50035;

/** Discord's 400 body; errors not tied to one field go in a top-level `_errors` list. */
export function invalidFormBody(errors: FieldErrors | { _errors: FormError[] }) {
  return { message: 'Invalid Form Body', code: INVALID_FORM_BODY, errors };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

class FieldCollector {
  readonly errors: FieldErrors = {};
  add(field: string, code: string, message: string): void {
    (this.errors[field] ??= { _errors: [] })._errors.push({ code, message });
  }
  snowflake(field: string, raw: unknown): Snowflake | undefined {
    const id = parseSnowflake(raw);
    if (id === undefined) this.add(field, 'NUMBER_TYPE_COERCE', `Value ${JSON.stringify(String(raw))} is not snowflake.`);
    return id;
  }
  result<T>(value: T): Parsed<T> {
    return Object.keys(this.errors).length > 0 ? { ok: false, errors: this.errors } : { ok: true, value };
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
