import { describe, expect, it } from 'vitest';
import { createUpstream } from './upstream.ts';

function recordingFetch(answer: () => Response | Promise<Response>) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fake = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    return answer();
  }) as typeof fetch;
  return { calls, fake };
}

describe('createUpstream', () => {
  it('sends with the bot’s token, only the allowed headers, and passes back Discord’s status, rate-limit headers and body', async () => {
    const { calls, fake } = recordingFetch(
      () => new Response('{"id":"1"}', { status: 200, headers: { 'content-type': 'application/json', 'x-ratelimit-remaining': '4', 'x-ratelimit-bucket': 'abc', 'set-cookie': 'cf=1', 'cf-ray': 'x' } }),
    );
    const upstream = createUpstream({ apiBase: 'https://discord.example/api/', token: 'real-token', timeoutMs: 1000, fetch: fake });
    const answer = await upstream({
      method: 'POST',
      path: '/channels/1100000000000000001/messages',
      query: 'wait=true',
      body: { content: 'hi' },
      headers: { authorization: 'Bot guildcast-token', 'x-audit-log-reason': 'why', cookie: 'c' },
    });
    expect(calls[0]!.url).toBe('https://discord.example/api/v10/channels/1100000000000000001/messages?wait=true');
    expect(calls[0]!.init.headers).toMatchObject({ authorization: 'Bot real-token', 'x-audit-log-reason': 'why', 'content-type': 'application/json' });
    expect(Object.keys(calls[0]!.init.headers as object)).not.toContain('cookie');
    expect(calls[0]!.init.body).toBe('{"content":"hi"}');
    expect(answer).toEqual({ status: 200, headers: { 'content-type': 'application/json', 'x-ratelimit-remaining': '4', 'x-ratelimit-bucket': 'abc' }, body: Buffer.from('{"id":"1"}') });
  });

  it('sends no body on GET and raw bytes with their content type', async () => {
    const { calls, fake } = recordingFetch(() => new Response(null, { status: 204 }));
    const upstream = createUpstream({ apiBase: 'http://d/api', token: 't', timeoutMs: 1000, fetch: fake });
    await upstream({ method: 'GET', path: '/users/@me', body: { ignored: true } });
    expect(calls[0]!.init.body).toBeUndefined();
    const raw = new Uint8Array([1, 2, 3]);
    const answer = await upstream({ method: 'POST', path: '/channels/1100000000000000001/messages', body: raw, headers: { 'content-type': 'multipart/form-data; boundary=x' } });
    expect(calls[1]!.init.body).toBe(raw);
    expect(calls[1]!.init.headers).toMatchObject({ 'content-type': 'multipart/form-data; boundary=x' });
    expect(answer.status).toBe(204);
    expect(answer.body.length).toBe(0);
  });

  it('answers 502 when Discord cannot be reached and 504 when it is too slow, in Discord’s error shape', async () => {
    const refused = createUpstream({ apiBase: 'http://d/api', token: 't', timeoutMs: 1000, fetch: recordingFetch(() => Promise.reject(new TypeError('fetch failed'))).fake });
    const down = await refused({ method: 'GET', path: '/users/@me' });
    expect(down.status).toBe(502);
    expect(JSON.parse(down.body.toString())).toEqual({ message: '502: Bad Gateway', code: 0 });
    const slow = createUpstream({ apiBase: 'http://d/api', token: 't', timeoutMs: 1000, fetch: recordingFetch(() => Promise.reject(new DOMException('timed out', 'TimeoutError'))).fake });
    expect((await slow({ method: 'GET', path: '/users/@me' })).status).toBe(504);
  });
});
