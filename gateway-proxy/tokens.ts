import { createHash, randomInt } from 'node:crypto';
import { SignJWT, jwtVerify, errors } from 'jose';
import { z } from 'zod';
import { bearerToken } from '../core/discord/authorization.ts';
import { isSnowflake, snowflakeAt, snowflakeString } from '../core/discord/snowflake.ts';

/**
 * guildcast access tokens: HS256 JWTs whose `guilds` claim names what the holder may receive,
 * either a list of guild ids or `"*"` for every guild, and that name a bot user: `sub` is its
 * snowflake id, `name` its username. Clients send one as the IDENTIFY token and on REST.
 */
const ISSUER = 'guildcast';
const snowflake = snowflakeString();
const claimsSchema = z.object({
  sub: z.string().min(1).max(200),
  /** The bot user's username (Discord's rules: 2 to 32 characters). */
  name: z.string().min(2).max(32).optional(),
  guilds: z.union([z.literal('*'), z.array(snowflake).max(100_000)]),
  exp: z.number(),
});

export interface AccessGrant {
  /** Who the token was minted for: the bot user's snowflake id (older tokens: any name; see botUser). */
  subject: string;
  /** The bot user's username; absent in tokens minted before tokens named one. */
  username?: string;
  /** `'*'`: every guild. */
  guilds: '*' | ReadonlySet<string>;
  expiresAt: Date;
}

export class TokenError extends Error {
  override name = 'TokenError';
}

export interface TokenSigner {
  /**
   * `subject` defaults to a fresh random snowflake, so two tokens never share an identity by
   * accident; `username` to none (botUser then names it).
   */
  mint(claims: { subject?: string; username?: string; guilds: '*' | readonly string[]; ttlSeconds: number }): Promise<string>;
  /** Resolves the grant of a valid token; rejects with TokenError for anything else. */
  verify(token: string): Promise<AccessGrant>;
}

export function createTokenSigner(secret: string): TokenSigner {
  const key = new TextEncoder().encode(secret);
  return {
    async mint({ subject = randomSubject(), username, guilds, ttlSeconds }) {
      for (const id of guilds === '*' ? [] : guilds)
        if (!snowflake.safeParse(id).success) throw new TokenError(`guild id ${JSON.stringify(id)} is not a snowflake`);
      if (username !== undefined && !claimsSchema.shape.name.safeParse(username).success) throw new TokenError(`username ${JSON.stringify(username)} must be 2 to 32 characters`);
      return new SignJWT({ guilds: guilds === '*' ? '*' : [...guilds], ...(username !== undefined && { name: username }) })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(ISSUER)
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(key);
    },
    async verify(token) {
      // Discord libraries send the IDENTIFY token as-is, some with the REST-style "Bot " prefix:
      // read by the same parser as the REST routes' Authorization header.
      const jwt = bearerToken(token, { bare: true }) ?? token;
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(jwt, key, { algorithms: ['HS256'], issuer: ISSUER }));
      } catch (err) {
        const reason = err instanceof errors.JWTExpired ? 'token expired' : 'token is not a valid guildcast token';
        throw new TokenError(reason);
      }
      const claims = claimsSchema.safeParse(payload);
      if (!claims.success) throw new TokenError('token claims are invalid: ' + claims.error.issues.map((i) => i.message).join('; '));
      const { sub, name, guilds, exp } = claims.data;
      return { subject: sub, ...(name !== undefined && { username: name }), guilds: guilds === '*' ? '*' : new Set(guilds), expiresAt: new Date(exp * 1000) };
    },
  };
}

/**
 * Whether a token's grant may take over a session created with `session`: every guild the session
 * receives must be allowed by the token (`"*"` allows all). Without this a narrow token holding a
 * session id would receive everything a wider token's session was granted.
 */
export function grantCovers(token: AccessGrant, session: AccessGrant): boolean {
  if (token.guilds === '*') return true;
  if (session.guilds === '*') return false;
  for (const guild of session.guilds) if (!token.guilds.has(guild)) return false;
  return true;
}

/**
 * A snowflake-shaped subject (READY's user.id: libraries parse it as one): the mint time and 22
 * random bits, so subjects minted apart never collide and ones minted in the same millisecond
 * collide with probability 2^-22 (and then still differ in grant checks).
 */
export function randomSubject(now = Date.now()): string {
  return String(snowflakeAt(now) | BigInt(randomInt(0, 1 << 22)));
}

/** `24h`, `30m`, `45s`, `7d` or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) throw new TokenError(`duration ${JSON.stringify(text)} is not like 30s, 15m, 24h or 7d`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** The bot user a token acts as: READY's `user`, `GET /users/@me`, a sent message's `author`. */
export interface BotUser {
  id: string;
  username: string;
}

/**
 * The bot user of a grant. Tokens minted with a snowflake subject (every token since subjects
 * default to one) use it as the id. Older tokens, or ones minted with a name as `--sub`, keep
 * working: their id is a snowflake derived from the subject (stable: the same token is always
 * the same user), because libraries parse `user.id` as an integer (discord.py's `int()`).
 * Without a `name` claim the username is the subject when that is a name, else `guildcast-bot`.
 */
export function botUser(grant: Pick<AccessGrant, 'subject' | 'username'>): BotUser {
  const named = isSnowflake(grant.subject);
  return {
    id: named ? grant.subject : derivedSnowflake(grant.subject),
    username: grant.username ?? (named ? 'guildcast-bot' : grant.subject.slice(0, 32)),
  };
}

/** 62 bits of the subject's hash with bit 61 set: 19 digits, below 2^63, like a recent snowflake. */
function derivedSnowflake(subject: string): string {
  const bits = createHash('sha256').update(`guildcast-subject:${subject}`).digest().readBigUInt64BE(0) >> 2n;
  return String(bits | (1n << 61n));
}
