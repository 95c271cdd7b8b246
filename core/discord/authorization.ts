export interface BearerTokenOptions {
  /**
   * Also take a header that is nothing but the token. guildcast's own JWTs have always been
   * accepted this way on the edge and history routes (and as IDENTIFY tokens, which Discord
   * libraries send without a scheme); ingest's shared secrets are not.
   */
  bare?: boolean;
}

/**
 * The token of an `Authorization` header: the one parser every guildcast route uses. Discord
 * libraries send `Bot <token>` for bots and `Bearer <token>` for OAuth2; guildcast accepts both
 * for its own tokens, case-insensitively as HTTP auth schemes are. Anything else (another scheme,
 * an empty token, a list) yields undefined.
 */
export function bearerToken(header: string | string[] | undefined, { bare = false }: BearerTokenOptions = {}): string | undefined {
  if (typeof header !== 'string') return undefined;
  const trimmed = header.trim();
  const match = /^(?:bot|bearer) +(\S+)$/i.exec(trimmed);
  if (match) return match[1];
  return bare && /^[^\s]+$/.test(trimmed) && !/^(?:bot|bearer)$/i.test(trimmed) ? trimmed : undefined;
}
