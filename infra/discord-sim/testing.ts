import { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents, type CompressionMethod, type SessionInfo } from '@discordjs/ws';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { GatewaySimulator } from './index.ts';

/**
 * An unmodified @discordjs/ws client pointed at a simulator, recording every dispatch it emits per
 * shard. Session info lives in a synchronous per-client map (async callbacks reorder dispatches).
 */
export interface RecordingClient {
  manager: WebSocketManager;
  /** Dispatches in the order the library emitted them, per shard. */
  received: Map<number, GatewayDispatchPayload[]>;
  sessions: Map<number, SessionInfo>;
  destroy(): Promise<void>;
}

export interface RecordingClientOptions {
  shardCount?: number;
  shardIds?: number[];
  compression?: CompressionMethod;
}

export async function connectRecordingClient(sim: GatewaySimulator, options: RecordingClientOptions = {}): Promise<RecordingClient> {
  const rest = new REST({ api: sim.apiBase }).setToken(sim.token);
  const sessions = new Map<number, SessionInfo>();
  const received = new Map<number, GatewayDispatchPayload[]>();
  const manager = new WebSocketManager({
    token: sim.token,
    intents: 0,
    rest,
    shardCount: options.shardCount ?? null,
    shardIds: options.shardIds ?? null,
    ...(options.compression !== undefined && { compression: options.compression }),
    buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }),
    retrieveSessionInfo: (shardId) => sessions.get(shardId) ?? null,
    updateSessionInfo: (shardId, info) => {
      if (info) sessions.set(shardId, info);
      else sessions.delete(shardId);
    },
  });
  manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
    let list = received.get(shardId);
    if (!list) received.set(shardId, (list = []));
    list.push(payload);
  });
  await manager.connect();
  return {
    manager,
    received,
    sessions,
    async destroy() {
      await manager.destroy();
    },
  };
}

/** Dispatches of one shard that consumed a seq (RESUMED repeats the last one). */
export function sequenced(list: readonly GatewayDispatchPayload[] = []): GatewayDispatchPayload[] {
  return list.filter((p) => p.t !== 'RESUMED');
}
