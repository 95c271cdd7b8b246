import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { botUser, createTokenSigner, grantCovers, parseDuration, TokenError, type AccessGrant } from './tokens.ts';
import { mintTokenCli } from './mint-token.ts';

const signer = createTokenSigner('unit-test-secret');

describe('access tokens', () => {
  it('round-trips the subject and guild grant', async () => {
    const grant = await signer.verify(await signer.mint({ subject: 'u1', guilds: ['1', '2'], ttlSeconds: 60 }));
    expect(grant.subject).toBe('u1');
    expect(grant.guilds).toEqual(new Set(['1', '2']));
    expect((await signer.verify(await signer.mint({ subject: 'u1', guilds: '*', ttlSeconds: 60 }))).guilds).toBe('*');
  });

  it('accepts the "Bot " prefix Discord libraries may add', async () => {
    const token = await signer.mint({ subject: 'u', guilds: ['1'], ttlSeconds: 60 });
    await expect(signer.verify(`Bot ${token}`)).resolves.toMatchObject({ subject: 'u' });
  });

  it('rejects other secrets, expired tokens, garbage and bad claims', async () => {
    const other = await createTokenSigner('another-secret').mint({ subject: 'u', guilds: ['1'], ttlSeconds: 60 });
    await expect(signer.verify(other)).rejects.toBeInstanceOf(TokenError);
    await expect(signer.verify(await signer.mint({ subject: 'u', guilds: ['1'], ttlSeconds: -10 }))).rejects.toThrow('expired');
    await expect(signer.verify('garbage')).rejects.toBeInstanceOf(TokenError);
    const noGuilds = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('guildcast')
      .setSubject('u')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('unit-test-secret'));
    await expect(signer.verify(noGuilds)).rejects.toThrow('claims');
    await expect(signer.mint({ subject: 'u', guilds: ['abc'], ttlSeconds: 60 })).rejects.toThrow('snowflake');
    await expect(signer.mint({ subject: 'u', guilds: ['18446744073709551616'], ttlSeconds: 60 })).rejects.toThrow('snowflake');
  });

  it('mints from the command line with the configured secret', async () => {
    const token = await mintTokenCli(['--guilds', '5,6', '--ttl', '2h', '--sub', 'cli'], { EDGE_TOKEN_SECRET: 'unit-test-secret' });
    const grant = await signer.verify(token);
    expect(grant.guilds).toEqual(new Set(['5', '6']));
    expect(grant.expiresAt.getTime() - Date.now()).toBeGreaterThan(3_500_000);
    await expect(mintTokenCli([], {})).rejects.toThrow('--guilds');
    await expect(mintTokenCli(['--guilds', '1'], { NODE_ENV: 'production' })).rejects.toThrow('EDGE_TOKEN_SECRET');
  });

  it('gives every minted token its own subject unless one is named', async () => {
    const cli = await Promise.all([1, 2].map(() => mintTokenCli(['--guilds', '5'], { EDGE_TOKEN_SECRET: 'unit-test-secret' })));
    const [a, b] = await Promise.all(cli.map((t) => signer.verify(t)));
    expect(a!.subject).not.toBe(b!.subject);
    expect(a!.subject).toMatch(/^\d{17,20}$/); // snowflake-shaped: READY's user.id
    const minted = await Promise.all([1, 2, 3].map(() => signer.mint({ guilds: '*', ttlSeconds: 60 }).then((t) => signer.verify(t))));
    expect(new Set(minted.map((g) => g.subject)).size).toBe(3);
    const named = await signer.verify(await mintTokenCli(['--guilds', '5', '--sub', 'ops'], { EDGE_TOKEN_SECRET: 'unit-test-secret' }));
    expect(named.subject).toBe('ops');
  });

  it('names a bot user: the snowflake subject and the name claim', async () => {
    const grant = await signer.verify(await mintTokenCli(['--guilds', '5', '--name', 'helper-bot', '--sub', '123456789012345678'], { EDGE_TOKEN_SECRET: 'unit-test-secret' }));
    expect(botUser(grant)).toEqual({ id: '123456789012345678', username: 'helper-bot' });
    const unnamed = await signer.verify(await signer.mint({ guilds: '*', ttlSeconds: 60 }));
    expect(botUser(unnamed)).toEqual({ id: unnamed.subject, username: 'guildcast-bot' });
    await expect(signer.mint({ username: 'x', guilds: '*', ttlSeconds: 60 })).rejects.toThrow('2 to 32');
  });

  it('keeps tokens whose subject is a name working, as a stable snowflake user', async () => {
    const token = await signer.mint({ subject: 'local-console', guilds: '*', ttlSeconds: 60 });
    const [a, b] = [botUser(await signer.verify(token)), botUser(await signer.verify(token))];
    expect(a.id).toMatch(/^\d{19}$/);
    expect(BigInt(a.id) < 2n ** 63n).toBe(true);
    expect(b).toEqual(a);
    expect(a.username).toBe('local-console');
    expect(botUser({ subject: 'other' }).id).not.toBe(a.id);
  });

  it('parses durations', () => {
    expect(parseDuration('24h')).toBe(86_400);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('90')).toBe(90);
    expect(() => parseDuration('soon')).toThrow(TokenError);
  });
});

describe('grantCovers', () => {
  const grant = (guilds: '*' | string[]): AccessGrant => ({ subject: 's', guilds: guilds === '*' ? '*' : new Set(guilds), expiresAt: new Date() });
  it.each([
    ['the same list', ['1', '2'], ['1', '2'], true],
    ['a wider list', ['1', '2', '3'], ['1', '2'], true],
    ['"*" over a list', '*', ['1', '2'], true],
    ['"*" over "*"', '*', '*', true],
    ['a list over "*"', ['1', '2'], '*', false],
    ['a narrower list', ['1'], ['1', '2'], false],
    ['a disjoint list', ['3'], ['1'], false],
    ['an empty list over a list', [], ['1'], false],
  ] as const)('%s', (_what, token, session, covers) => {
    expect(grantCovers(grant(token as '*' | string[]), grant(session as '*' | string[]))).toBe(covers);
  });
});
