import { GatewayIntentBits } from '../core/discord/protocol.ts';
import { GatewaySession } from '../core/discord/gateway/session.ts';
import type { AccessGrant } from './tokens.ts';
import type { PreparedEvent } from './serialize.ts';

/**
 * An edge session: the shared gateway session (seq, replay buffer, resume) plus what its token
 * and IDENTIFY let it see.
 */
export class Session extends GatewaySession {
  constructor(
    readonly grant: AccessGrant,
    readonly shard: readonly [number, number],
    readonly intents: number,
    replayCapacity: number,
    onOverflow: (session: Session) => void,
  ) {
    super({ replayCapacity, onOverflow: (session) => onOverflow(session as Session) });
  }

  wants(event: PreparedEvent): boolean {
    return event.intent === 0 || (this.intents & event.intent) !== 0;
  }

  deliver(event: PreparedEvent): void {
    this.dispatch((this.intents & GatewayIntentBits.MessageContent) !== 0 ? event.body : event.withoutContent());
  }
}
