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
  private held: { event: PreparedEvent; origin: FeedOrigin | undefined }[] | null = null;
  /**
   * Per partition, what reached the client before this node's live records did (through the
   * previous owner, or the takeover's replay): live records below `offset`, and redeliveries with
   * a source offset at or below `passed`, are not sent. This node's own feed filter may know
   * less: it started reading the partition later than the session's history began. A floor goes
   * once a record passes it, since the feed's filter is past it from then on.
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
    if (this.held) this.held.push({ event, origin: this.cursor.origin });
    else if (!this.floors || this.aboveFloor(this.cursor.origin)) this.send(event);
  }

  /** An event replayed from the feed during a takeover (the dispatcher's routing already applied). */
  deliverReplayed(event: PreparedEvent): void {
    if (this.wants(event)) this.send(event);
  }

  /** From now on live events wait in a queue (a takeover is about to replay); `floors` as above. */
  holdLive(floors: ReadonlyMap<number, FeedPosition>): void {
    this.held = [];
    this.raiseFloors(floors);
  }

  /** Delivers the held live events that are above the floors (with the replay's `floors` added) and goes live. */
  releaseLive(floors: ReadonlyMap<number, FeedPosition> = new Map()): void {
    this.raiseFloors(floors);
    const held = this.held ?? [];
    this.held = null;
    for (const { event, origin } of held) if (!this.floors || this.aboveFloor(origin)) this.send(event);
  }

  /** Where the session's stream stands on `partition`, given the feed's live position there. */
  positionOn(partition: number, live: FeedPosition): FeedPosition {
    const floor = this.floors?.get(partition);
    return floor ? furthest(floor, live) : live;
  }

  private raiseFloors(floors: ReadonlyMap<number, FeedPosition>): void {
    for (const [partition, floor] of floors) {
      const current = this.floors?.get(partition);
      (this.floors ??= new Map()).set(partition, current ? furthest(current, floor) : floor);
    }
  }

  private aboveFloor(origin: FeedOrigin | undefined): boolean {
    if (!origin) return true;
    const floor = this.floors!.get(origin.partition);
    if (floor === undefined) return true;
    if (origin.offset < floor.offset || origin.sourceOffset <= floor.passed) return false;
    this.floors!.delete(origin.partition);
    if (this.floors!.size === 0) this.floors = undefined;
    return true;
  }

  private send(event: PreparedEvent): void {
    this.dispatch((this.intents & GatewayIntentBits.MessageContent) !== 0 ? event.body : event.withoutContent());
  }
}

/** The later of two positions on one partition, offset and source offset each. */
function furthest(a: FeedPosition, b: FeedPosition): FeedPosition {
  return { offset: a.offset > b.offset ? a.offset : b.offset, passed: a.passed > b.passed ? a.passed : b.passed };
}
