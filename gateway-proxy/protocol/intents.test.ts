import { describe, expect, it } from 'vitest';
import { Intent, parseIntents, requiredIntent } from './intents.ts';

describe('intents', () => {
  it('maps dispatches to the intent Discord requires, in guilds and DMs', () => {
    expect(requiredIntent('MESSAGE_CREATE', true)).toBe(Intent.GuildMessages);
    expect(requiredIntent('MESSAGE_CREATE', false)).toBe(Intent.DirectMessages);
    expect(requiredIntent('MESSAGE_REACTION_ADD', true)).toBe(Intent.GuildMessageReactions);
    expect(requiredIntent('TYPING_START', false)).toBe(Intent.DirectMessageTyping);
    expect(requiredIntent('GUILD_CREATE', true)).toBe(Intent.Guilds);
    expect(requiredIntent('PRESENCE_UPDATE', true)).toBe(Intent.GuildPresences);
    expect(requiredIntent('SOMETHING_NEW', true)).toBe(0);
  });

  it('accepts only integers made of known bits', () => {
    expect(parseIntents(Intent.Guilds | Intent.MessageContent)).toBe(1 | (1 << 15));
    expect(parseIntents(0)).toBe(0);
    for (const bad of [1.5, -1, '1', null, 1 << 17, 2 ** 40]) expect(parseIntents(bad)).toBeNull();
  });
});
