import { describe, expect, it } from 'vitest';
import { snowflakeAt } from '../../core/discord/snowflake.ts';
import { isForwardablePath, ownerKeyOf, routeOf } from './routes.ts';

const channel = '1100000000000000001';
const message = '1200000000000000002';

describe('routeOf', () => {
  it('keeps the major parameter and replaces the other ids, as @discordjs/rest does', () => {
    expect(routeOf('POST', `/channels/${channel}/messages`)).toEqual({ bucketRoute: '/channels/:id/messages', major: `channels/${channel}` });
    expect(routeOf('PATCH', `/channels/${channel}/messages/${message}`)).toEqual({ bucketRoute: '/channels/:id/messages/:id', major: `channels/${channel}` });
    expect(routeOf('POST', `/channels/${channel}/messages/bulk-delete`)).toEqual({ bucketRoute: '/channels/:id/messages/bulk-delete', major: `channels/${channel}` });
    expect(routeOf('GET', `/guilds/${channel}/members/${message}`)).toEqual({ bucketRoute: '/guilds/:id/members/:id', major: `guilds/${channel}` });
    expect(routeOf('PUT', `/channels/${channel}/messages/${message}/reactions/%F0%9F%91%8D/@me`).bucketRoute).toBe('/channels/:id/messages/:id/reactions/:reaction');
    expect(routeOf('POST', `/webhooks/${channel}/tok-en_1`)).toEqual({ bucketRoute: '/webhooks/:id/:token', major: `webhooks/${channel}/tok-en_1` });
    expect(routeOf('GET', '/users/@me')).toEqual({ bucketRoute: '/users/@me', major: 'global' });
  });

  it('gives deletes of messages older than two weeks their own bucket', () => {
    const now = Date.UTC(2026, 0, 31);
    const fresh = snowflakeAt(now - 86_400_000).toString();
    const old = snowflakeAt(now - 15 * 86_400_000).toString();
    expect(routeOf('DELETE', `/channels/${channel}/messages/${fresh}`, now).bucketRoute).toBe('/channels/:id/messages/:id');
    expect(routeOf('DELETE', `/channels/${channel}/messages/${old}`, now).bucketRoute).toBe('/channels/:id/messages/:id/Delete Old Message');
    expect(routeOf('PATCH', `/channels/${channel}/messages/${old}`, now).bucketRoute).toBe('/channels/:id/messages/:id');
  });

  it('puts every route of one channel on one owner key, and different channels on different keys', () => {
    const keys = ['POST', 'PATCH', 'DELETE'].map((m) => ownerKeyOf(routeOf(m, `/channels/${channel}/messages${m === 'POST' ? '' : `/${message}`}`)));
    expect(new Set(keys)).toEqual(new Set([`channels/${channel}`]));
    expect(ownerKeyOf(routeOf('POST', `/channels/${message}/messages`))).not.toBe(keys[0]);
  });

  it('forwards only plain paths', () => {
    expect(isForwardablePath(`/channels/${channel}/messages`)).toBe(true);
    for (const bad of ['', '/', 'channels/1', '/channels/../users', '/a//b', '/a?b=1', '/a/%2F', '/a b', 'http://x/y']) expect(isForwardablePath(bad)).toBe(false);
  });
});
