/**
 * The token of an `Authorization` header. Discord libraries send `Bot <token>` for bots and
 * `Bearer <token>` for OAuth2; guildcast accepts both for its own tokens, case-insensitively as
 * HTTP auth schemes are. Anything else (no scheme, an empty token, a list) yields undefined.
 */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^(?:bot|bearer) +(\S+)$/i.exec(header.trim());
  return match?.[1];
}
