import { RESTJSONErrorCodes } from 'discord-api-types/v10';

export { RESTJSONErrorCodes };

/** One field's problem in Discord's 50035 `errors` tree: `{ field: { _errors: [{ code, message }] } }`. */
export interface FieldError {
  /** Path to the field, e.g. `['embeds', '0', 'title']`. */
  path: readonly string[];
  /** Discord's per-field code, e.g. `BASE_TYPE_MAX_LENGTH`, `BASE_TYPE_REQUIRED`, `NUMBER_TYPE_COERCE`. */
  code: string;
  message: string;
}

/** The JSON body of every error on a Discord-compatible route. */
export interface DiscordErrorBody {
  message: string;
  code: number;
  errors?: Record<string, unknown>;
  retry_after?: number;
  global?: boolean;
}

/** Discord's own message for each code guildcast answers with, so every route says the same words. */
const MESSAGES: Partial<Record<RESTJSONErrorCodes, string>> = {
  [RESTJSONErrorCodes.GeneralError]: 'General error',
  [RESTJSONErrorCodes.UnknownChannel]: 'Unknown Channel',
  [RESTJSONErrorCodes.UnknownGuild]: 'Unknown Guild',
  [RESTJSONErrorCodes.UnknownMessage]: 'Unknown Message',
  [RESTJSONErrorCodes.Unauthorized]: 'Unauthorized',
  [RESTJSONErrorCodes.MissingAccess]: 'Missing Access',
  [RESTJSONErrorCodes.CannotEditMessageAuthoredByAnotherUser]: 'Cannot edit a message authored by another user',
  [RESTJSONErrorCodes.OneOfTheMessagesProvidedWasTooOldForBulkDelete]: 'You can only bulk delete messages that are under 14 days old.',
  [RESTJSONErrorCodes.CannotSendAnEmptyMessage]: 'Cannot send an empty message',
  [RESTJSONErrorCodes.InvalidFormBodyOrContentType]: 'Invalid Form Body',
  [RESTJSONErrorCodes.RequestBodyContainsInvalidJSON]: 'The request body contains invalid JSON.',
};

/**
 * Builds Discord's error body for a JSON error code. `message` overrides Discord's wording only
 * where Discord itself varies it (code 0 carries the HTTP status text, e.g. `404: Not Found`).
 */
export function discordError(code: RESTJSONErrorCodes, message?: string, extra: Omit<DiscordErrorBody, 'code' | 'message'> = {}): DiscordErrorBody {
  return { message: message ?? MESSAGES[code] ?? 'General error', code, ...extra };
}

/** Code 0 with the status line as the message: what Discord answers for 401, 404 and 405 routes. */
export function httpStatusError(status: 401 | 403 | 404 | 405 | 500 | 502 | 503): DiscordErrorBody {
  return discordError(RESTJSONErrorCodes.GeneralError, `${status}: ${STATUS_TEXT[status]}`);
}

const STATUS_TEXT = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
} as const;

/** 50035 Invalid Form Body with the per-field `errors` tree Discord libraries print. */
export function invalidFormBody(fields: readonly FieldError[]): DiscordErrorBody {
  const errors: Record<string, unknown> = {};
  for (const field of fields) {
    let node = errors;
    for (const part of field.path) node = (node[part] ??= {}) as Record<string, unknown>;
    ((node._errors ??= []) as unknown[]).push({ code: field.code, message: field.message });
  }
  return discordError(RESTJSONErrorCodes.InvalidFormBodyOrContentType, undefined, { errors });
}
