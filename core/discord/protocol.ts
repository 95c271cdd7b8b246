/**
 * Gateway v10 constants, from discord-api-types rather than tables of our own, so the edge and the
 * simulator name opcodes, close codes and intents exactly as Discord's libraries do.
 */
export { GatewayCloseCodes, GatewayDispatchEvents, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
