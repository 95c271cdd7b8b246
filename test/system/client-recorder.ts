import { WebSocketShardEvents } from '@discordjs/ws';
import type { GatewayMessageCreateDispatchData } from 'discord-api-types/v10';
import { edgeGatewayClient } from '../discord-client.ts';

export interface ReceivedMessage {
  id: string;
  channelId: string;
  content: string;
  /** How many READYs this client had seen when the message came: 1 until its first re-IDENTIFY. */
  sessionNumber: number;
  /** Unix ms when the client emitted it. */
  receivedAt: number;
}

/**
 * A real, unmodified @discordjs/ws client on the edge (found through `${edgeBase}/api`, as a bot
 * finds Discord), recording every MESSAGE_CREATE in arrival order, and how its sessions went:
 * READYs (identifies), RESUMEDs, and INVALID_SESSIONs (op 9, seen through the library's debug
 * line, which is the only place it reports them).
 */
export interface ClientRecorder {
  readonly messages: readonly ReceivedMessage[];
  readonly readies: number;
  readonly resumes: number;
  readonly invalidSessions: readonly { resumable: boolean; afterMessages: number }[];
  readonly closeCodes: readonly number[];
  destroy(): Promise<void>;
}

export async function connectRecorder({ edgeBase, token, shard }: { edgeBase: string; token: string; shard?: readonly [number, number] }): Promise<ClientRecorder> {
  const manager = edgeGatewayClient({ edgeBase, token, ...(shard ? { shard } : {}) });
  const messages: ReceivedMessage[] = [];
  const invalidSessions: { resumable: boolean; afterMessages: number }[] = [];
  const closeCodes: number[] = [];
  let readies = 0;
  let resumes = 0;
  manager.on(WebSocketShardEvents.Ready, () => void readies++);
  manager.on(WebSocketShardEvents.Resumed, () => void resumes++);
  manager.on(WebSocketShardEvents.Closed, (code) => void closeCodes.push(code));
  manager.on(WebSocketShardEvents.Debug, (message) => {
    const invalid = /^Invalid session; will attempt to resume: (true|false)/.exec(message);
    if (invalid) invalidSessions.push({ resumable: invalid[1] === 'true', afterMessages: messages.length });
  });
  manager.on(WebSocketShardEvents.Error, () => {
    /* reconnects are the library's business; an unhandled 'error' event would throw */
  });
  manager.on(WebSocketShardEvents.Dispatch, (payload) => {
    if (payload.t !== 'MESSAGE_CREATE') return;
    const d = payload.d as GatewayMessageCreateDispatchData;
    messages.push({ id: d.id, channelId: d.channel_id, content: d.content, sessionNumber: readies, receivedAt: Date.now() });
  });
  await manager.connect();
  return {
    messages,
    get readies() {
      return readies;
    },
    get resumes() {
      return resumes;
    },
    invalidSessions,
    closeCodes,
    destroy: async () => manager.destroy(),
  };
}
