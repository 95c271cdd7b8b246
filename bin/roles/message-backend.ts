import { serializeEnvelope, type EventEnvelope } from '../../core/events/envelope.ts';
import type { Producer } from '../../core/kafka/types.ts';
import type { RestProxy } from '../../ingest/rest-proxy/index.ts';
export type { ProxyRequest, ProxyResponse } from '../../ingest/rest-proxy/index.ts';

/**
 * Where the api role's message routes put what a bot does. Without DISCORD_TOKEN guildcast is
 * the source of truth and an action is an event on the events topic (an EventPublisher). With
 * it, actions go to the real Discord through ingest/rest-proxy (a DiscordForwarder) and come
 * back through the gateway as Discord's own dispatches.
 */
export interface EventPublisher {
  /** Resolves once Kafka acknowledged the record (acks=all); rejects when it did not. */
  publish(envelope: EventEnvelope, key: string): Promise<void>;
}

/**
 * With DISCORD_TOKEN: helper "proxy"'s REST proxy (ingest/rest-proxy/), which adds the bot's real
 * token and owns every rate-limit decision. The message routes call it after their own token,
 * guild and body checks, and answer what Discord answered.
 */
export type DiscordForwarder = Pick<RestProxy, 'forward'>;

/**
 * Events published one per request, keyed by guild, exactly as ingest's sink writes them (the
 * trace id travels in the envelope). A request waits for its own acknowledgement: the answer
 * means the event is durable.
 */
export function kafkaEventPublisher(producer: Pick<Producer, 'send'>, topic: string): EventPublisher {
  return { publish: (envelope, key) => producer.send({ topic, messages: [{ key, value: serializeEnvelope(envelope) }] }) };
}
