import { REST } from '@discordjs/rest';
import {
  CloseCodes,
  WebSocketManager,
  WebSocketShardEvents,
  WebSocketShardStatus,
  WorkerShardingStrategy,
  type IShardingStrategy,
} from '@discordjs/ws';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { Logger } from '../core/logger.ts';
import type { IngestMetrics } from './metrics.ts';
import type { ShardSessions } from './sessions.ts';

export interface GatewayShardsOptions {
  token: string;
  apiBase: string;
  intents: number;
  /** Total shards across all ingest processes; null takes Discord's recommendation. */
  shardCount: number | null;
  /** This process's shards; null means all of them. */
  shardIds: number[] | null;
  sharding: 'simple' | 'worker';
  shardsPerWorker: number;
  sessions: ShardSessions;
  logger: Logger;
  metrics: IngestMetrics;
  onDispatch(payload: GatewayDispatchPayload, shardId: number): void;
}

/**
 * The shards of this process, on one @discordjs/ws manager. The library cannot stop reading a
 * socket, so "pausing" closes every shard with a resumable close code while their sessions are
 * held, and "resuming" connects again: the library RESUMEs from the last acknowledged sequence
 * and the gateway replays what it sent meanwhile (within its resume window).
 */
export class GatewayShards {
  readonly manager: WebSocketManager;
  private wantPaused = false;
  private paused = false;
  /** Some shard shed dispatches: it must reconnect (and RESUME) even if the shards never paused. */
  private resumeNeeded = false;
  private transition: Promise<void> = Promise.resolve();
  private closed = false;
  /** Each shard's state now, for readiness: a shard that connected once may have dropped since. */
  private readonly statuses = new Map<number, WebSocketShardStatus>();

  constructor(private readonly options: GatewayShardsOptions) {
    const { token, apiBase, intents, shardCount, shardIds, sharding, shardsPerWorker, sessions, logger, metrics } = options;
    const log = logger.child({ component: 'shards' });
    this.manager = new WebSocketManager({
      token,
      intents,
      rest: new REST({ api: apiBase }).setToken(token),
      shardCount,
      shardIds,
      retrieveSessionInfo: sessions.retrieve,
      updateSessionInfo: sessions.update,
      ...(sharding === 'worker' && {
        buildStrategy: (manager: WebSocketManager): IShardingStrategy => new WorkerShardingStrategy(manager, { shardsPerWorker }),
      }),
    });
    const status = (shardId: number, value: WebSocketShardStatus) => {
      this.statuses.set(shardId, value);
      metrics.shardStatus.set({ shard: String(shardId) }, value);
    };
    this.manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => options.onDispatch(payload, shardId));
    this.manager.on(WebSocketShardEvents.Hello, (shardId) => status(shardId, WebSocketShardStatus.Connecting));
    this.manager.on(WebSocketShardEvents.Ready, (_data, shardId) => status(shardId, WebSocketShardStatus.Ready));
    this.manager.on(WebSocketShardEvents.Resumed, (shardId) => {
      status(shardId, WebSocketShardStatus.Ready);
      metrics.resumes.inc({ shard: String(shardId) });
      log.info({ shard: shardId }, 'session resumed');
    });
    this.manager.on(WebSocketShardEvents.Closed, (code, shardId) => {
      status(shardId, WebSocketShardStatus.Idle);
      log.info({ shard: shardId, code }, 'shard connection closed');
    });
    this.manager.on(WebSocketShardEvents.Error, (err, shardId) => log.error({ err, shard: shardId }, 'shard error'));
    this.manager.on(WebSocketShardEvents.Debug, (message, shardId) => log.debug({ shard: shardId }, message));
  }

  start(): Promise<void> {
    return this.enqueue(() => this.manager.connect());
  }

  /** Asks for the shards to stop (true) or start reading again (false); calls may overlap freely. */
  setPaused(paused: boolean): Promise<void> {
    this.wantPaused = paused;
    return this.enqueue(() => this.reconcile());
  }

  /** A shard dropped dispatches: reconnect once reading is allowed, so the gateway replays them. */
  requestResume(): void {
    if (this.resumeNeeded) return;
    this.resumeNeeded = true;
    void this.enqueue(() => this.reconcile()).catch((err) => this.options.logger.error({ err }, 'could not resume shards'));
  }

  /** Shards that are not READY at this moment (all of them before the first connect). */
  async shardsNotReady(): Promise<number[]> {
    const ids = [...(await this.manager.getShardIds())];
    return ids.filter((id) => this.statuses.get(id) !== WebSocketShardStatus.Ready);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Closes every shard resumably, so a restarted process (or another one) can RESUME its session. */
  async close(): Promise<void> {
    this.closed = true;
    await this.closeResumably('ingest shutting down');
  }

  private async reconcile(): Promise<void> {
    if (this.closed) return;
    const { logger, metrics } = this.options;
    if (this.wantPaused) {
      if (this.paused) return;
      logger.warn({ component: 'shards' }, 'Kafka buffer full: closing shards resumably until it drains');
      metrics.pauses.inc();
      metrics.paused.set(1);
      this.paused = true;
      await this.closeResumably('ingest backpressure');
      return;
    }
    if (!this.paused && !this.resumeNeeded) return;
    if (!this.paused) await this.closeResumably('replaying shed dispatches');
    logger.info({ component: 'shards' }, 'Kafka buffer drained: resuming shards');
    this.paused = false;
    this.resumeNeeded = false;
    metrics.paused.set(0);
    await this.manager.connect();
  }

  private closeResumably(reason: string): Promise<void> {
    return this.options.sessions.holdDuring(async () => this.manager.destroy({ code: CloseCodes.Resuming, reason }));
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.transition = this.transition.catch(() => undefined).then(step);
    return this.transition;
  }
}
