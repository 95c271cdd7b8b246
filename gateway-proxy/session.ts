import { GatewayIntentBits } from '../core/discord/protocol.ts';
import { GatewaySession } from '../core/discord/gateway/session.ts';
import type { FeedOrigin, FeedPosition } from './delivery-source.ts';
import type { InterestLease } from './interest.ts';
import type { SessionCheckpoint } from './session-store.ts';
import type { AccessGrant } from './tokens.ts';
import type { PreparedEvent } from './serialize.ts';

/** Where the feed's event being dispatched now came from (set by the gateway around each dispatch). */
export interface FeedCursor {
  origin: FeedOrigin | undefined;
}

export interface SessionTakeover {
  /** The session's id, kept across nodes. */
  id: string;
  /** The client's seq: the next frame is one above it. */
  seq: number;
  epoch: number;
  checkpoints: SessionCheckpoint[];
}

/**
 * An edge session: the shared gateway session (seq, replay buffer, resume) plus what its token
 * and IDENTIFY let it see, and what RESUME on another node needs (epoch, checkpoints, the hold
 * on its partitions).
 */
export class Session extends GatewaySession {
  /** Ownership generation in the session store: a node holding an older epoch than the stored one lost the session. */
  epoch = 0;
  /** The stored checkpoints, oldest first. */
  checkpoints: SessionCheckpoint[] = [];
  /** The session's partitions, held from IDENTIFY/RESUME until it is forgotten. */
  lease: InterestLease | undefined;
  /** Live events that arrived while a takeover replays from the feed; delivered after RESUMED. */
  private held: PreparedEvent[] | null = null;
  /**
   * Per partition, the checkpoint position when this node reads the partition behind it: live
   * records below it reached the client through the previous owner already.
   */
  private floors: Map<number, FeedPosition> | undefined;

  constructor(
    readonly grant: AccessGrant,
    readonly shard: readonly [number, number],
    readonly intents: number,
    replayCapacity: number,
    onOverflow: (session: Session) => void,
    private readonly cursor: FeedCursor = { origin: undefined },
    takeover?: SessionTakeover,
  ) {
    super({ replayCapacity, onOverflow: (session) => onOverflow(session as Session), ...(takeover ? { id: takeover.id, seq: takeover.seq } : {}) });
    if (takeover) {
      this.epoch = takeover.epoch;
      this.checkpoints = takeover.checkpoints;
    }
  }

  /** Replaying from the feed: live events are held, no checkpoint can be taken. */
  get catchingUp(): boolean {
    return this.held !== null;
  }

  wants(event: PreparedEvent): boolean {
    return event.intent === 0 || (this.intents & event.intent) !== 0;
  }

  /** A live event from the dispatcher. */
  deliver(event: PreparedEvent): void {
    if (this.floors && !this.aboveFloor()) return;
    if (this.held) this.held.push(event);
    else this.send(event);
  }

  /** An event replayed from the feed during a takeover (the dispatcher's routing already applied). */
  deliverReplayed(event: PreparedEvent): void {
    if (this.wants(event)) this.send(event);
  }

  /** From now on live events wait in a queue (a takeover is about to replay); `floors` as above. */
  holdLive(floors: Map<number, FeedPosition>): void {
    this.held = [];
    if (floors.size > 0) this.floors = floors;
  }

  /** Delivers the held live events and goes live. */
  releaseLive(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const event of held) this.send(event);
  }

  /** Where the session's stream stands on `partition`, given the feed's live position there. */
  positionOn(partition: number, live: FeedPosition): FeedPosition {
    const floor = this.floors?.get(partition);
    return floor && floor.offset > live.offset ? floor : live;
  }

  private aboveFloor(): boolean {
    const origin = this.cursor.origin;
    if (!origin) return true;
    const floor = this.floors!.get(origin.partition);
    if (floor === undefined) return true;
    if (origin.offset < floor.offset) return false;
    this.floors!.delete(origin.partition);
    if (this.floors!.size === 0) this.floors = undefined;
    return true;
  }

  private send(event: PreparedEvent): void {
    this.dispatch((this.intents & GatewayIntentBits.MessageContent) !== 0 ? event.body : event.withoutContent());
  }
}
