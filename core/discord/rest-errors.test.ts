import { describe, expect, it } from 'vitest';
import { discordError, httpStatusError, invalidFormBody, RESTJSONErrorCodes } from './rest-errors.ts';

describe('Discord REST error bodies', () => {
  it('uses Discord wording for a known code', () => {
    expect(discordError(RESTJSONErrorCodes.MissingAccess)).toEqual({ message: 'Missing Access', code: 50001 });
    expect(discordError(RESTJSONErrorCodes.UnknownChannel)).toEqual({ message: 'Unknown Channel', code: 10003 });
  });

  it('answers unknown routes as Discord does', () => {
    expect(httpStatusError(404)).toEqual({ message: '404: Not Found', code: 0 });
    expect(httpStatusError(401)).toEqual({ message: '401: Unauthorized', code: 0 });
  });

  it('nests field errors into the 50035 tree, several per field', () => {
    const body = invalidFormBody([
      { path: ['content'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' },
      { path: ['embeds', '0', 'title'], code: 'BASE_TYPE_REQUIRED', message: 'This field is required' },
      { path: ['content'], code: 'X', message: 'second' },
    ]);
    expect(body).toEqual({
      message: 'Invalid Form Body',
      code: 50035,
      errors: {
        content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }, { code: 'X', message: 'second' }] },
        embeds: { '0': { title: { _errors: [{ code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] } } },
      },
    });
  });
});
