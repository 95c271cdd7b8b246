import { DISCORD_EPOCH } from '../../core/discord/snowflake.ts';

/**
 * Where a request's rate limit lives. Discord keys a bucket by its hash (learned from
 * `X-RateLimit-Bucket`) and the route's top-level ("major") parameter: a channel, a guild, or a
 * webhook with its token. Until the hash is known the route itself (ids replaced) stands in for it.
 * The mapping follows @discordjs/rest 2.x (`REST.generateRouteData`, private there), so a bot's own
 * limiter and the proxy agree on what shares a bucket.
 */
export interface RouteKey {
  /** The route with ids replaced, e.g. `/channels/:id/messages/:id`; with `/Delete Old Message` for deletes older than 14 days. */
  bucketRoute: string;
  /** `channels/<id>`, `guilds/<id>`, `webhooks/<id>/<token>`, `interactions/<id>/<token>` or `global` (no major parameter). */
  major: string;
}

const SNOWFLAKE = /\d{17,20}/g;
const MAJOR = /^\/(?:(webhooks|interactions)\/(\d{17,20})\/([^/?]+)|(channels|guilds|webhooks)\/(\d{17,20}))/;
/** Discord gives deletes of messages older than two weeks their own, stricter bucket. */
const OLD_MESSAGE_MS = 14 * 86_400_000;

export function routeOf(method: string, path: string, now = Date.now()): RouteKey {
  const m = MAJOR.exec(path);
  const major = m ? (m[1] ? `${m[1]}/${m[2]}/${m[3]}` : `${m[4]}/${m[5]}`) : 'global';
  let bucketRoute = path
    .replace(SNOWFLAKE, ':id')
    .replace(/\/reactions\/.*/, '/reactions/:reaction')
    .replace(/^\/(webhooks|interactions)\/:id\/[^/?]+/, '/$1/:id/:token');
  if (method === 'DELETE' && bucketRoute === '/channels/:id/messages/:id') {
    const id = /(\d{17,20})$/.exec(path)![1]!;
    if (now - Number((BigInt(id) >> 22n) + DISCORD_EPOCH) > OLD_MESSAGE_MS) bucketRoute += '/Delete Old Message';
  }
  return { bucketRoute, major };
}

/**
 * What decides a request's owning node: its major parameter alone. Every Discord bucket is scoped
 * by one major parameter, so all the routes of one channel (which may share a bucket hash) meet on
 * one node, whose limiter then sees every request of that bucket. Routes without one (`/users/@me`,
 * `/applications/@me`) all go to the owner of `global`.
 */
export function ownerKeyOf(route: RouteKey): string {
  return route.major;
}

/** A path the proxy forwards: `/segment/...`, no query, no `..`, no `//`, only URL-safe characters. */
export function isForwardablePath(path: string): boolean {
  return /^(\/[A-Za-z0-9@._~%:=-]+)+$/.test(path) && !path.split('/').includes('..') && !/%2f/i.test(path);
}
