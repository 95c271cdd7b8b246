import { describe, expect, it } from 'vitest';
import { GatewayIntentBits } from '../../core/discord/protocol.ts';
import { parseIntents, requiredIntent } from './intents.ts';

describe('intents', () => {
  it('maps dispatches to the intent Discord requires, in guilds and DMs', () => {
    expect(requiredIntent('MESSAGE_CREATE', true)).toBe(GatewayIntentBits.GuildMessages);
    expect(requiredIntent('MESSAGE_CREATE', false)).toBe(GatewayIntentBits.DirectMessages);
    expect(requiredIntent('MESSAGE_REACTION_ADD', true)).toBe(GatewayIntentBits.GuildMessageReactions);
    expect(requiredIntent('TYPING_START', false)).toBe(GatewayIntentBits.DirectMessageTyping);
    expect(requiredIntent('GUILD_CREATE', true)).toBe(GatewayIntentBits.Guilds);
    expect(requiredIntent('PRESENCE_UPDATE', true)).toBe(GatewayIntentBits.GuildPresences);
    expect(requiredIntent('SOMETHING_NEW', true)).toBe(0);
  });

  it('accepts only integers made of known bits', () => {
    expect(parseIntents(GatewayIntentBits.Guilds | GatewayIntentBits.MessageContent)).toBe(1 | (1 << 15));
    expect(parseIntents(0)).toBe(0);
    for (const bad of [1.5, -1, '1', null, 1 << 17, 2 ** 40]) expect(parseIntents(bad)).toBeNull();
  });
});
