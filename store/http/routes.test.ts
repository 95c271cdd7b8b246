import { describe, expect, it } from 'vitest';
import { StoreUnavailableError, StoreValidationError } from '../errors.ts';
import type { StoredMessage } from '../model/message.ts';
import { createHistoryApi } from './routes.ts';

const channel = '175928847299117064';

/** The store's read side as the routes see it, failing on demand the ways the database can. */
function api(behaviour: 'empty' | 'down' | 'slow' | 'invalid' | 'broken') {
  const fail = async (): Promise<never> => {
    if (behaviour === 'down') throw new StoreUnavailableError('down');
    if (behaviour === 'invalid') throw new StoreValidationError([{ reason: 'before must be a snowflake' }]);
    if (behaviour === 'slow') return new Promise<never>(() => {});
    throw new Error('a bug');
  };
  return createHistoryApi({
    deadlineMs: 50,
    store: {
      history: async () => (behaviour === 'empty' ? ([] as StoredMessage[]) : fail()),
      getMessage: async () => (behaviour === 'empty' ? undefined : fail()),
    },
  });
}

/** The exact bytes a client gets: clients and tests compare them. */
async function body(behaviour: Parameters<typeof api>[0], url: string) {
  const app = await api(behaviour);
  const res = await app.inject(`/api/v10${url}`);
  await app.close();
  return [res.statusCode, res.body];
}

describe("the history routes' error bodies", () => {
  it('are byte for byte what Discord answers', async () => {
    expect(await body('empty', `/channels/${channel}/messages?limit=0&before=x`)).toEqual([
      400,
      '{"message":"Invalid Form Body","code":50035,"errors":{"limit":{"_errors":[{"code":"NUMBER_TYPE_MIN","message":"int value should be greater than or equal to 1."}]},"before":{"_errors":[{"code":"NUMBER_TYPE_COERCE","message":"Value \\"x\\" is not snowflake."}]}}}',
    ]);
    expect(await body('empty', `/channels/${channel}/messages/1`)).toEqual([404, '{"message":"Unknown Message","code":10008}']);
    expect(await body('down', `/channels/${channel}/messages`)).toEqual([503, '{"message":"Service unavailable","code":0,"retry_after":1}']);
    expect(await body('slow', `/channels/${channel}/messages/1`)).toEqual([503, '{"message":"Service unavailable","code":0,"retry_after":1}']);
    expect(await body('invalid', `/channels/${channel}/messages`)).toEqual([
      400,
      '{"message":"Invalid Form Body","code":50035,"errors":{"_errors":[{"code":"BASE_TYPE_INVALID","message":"before must be a snowflake"}]}}',
    ]);
    expect(await body('broken', `/channels/${channel}/messages`)).toEqual([500, '{"message":"500: Internal Server Error","code":0}']);
  });
});
