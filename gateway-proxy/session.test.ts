import { describe, expect, it } from 'vitest';
import type { SequencedFrame } from '../core/discord/gateway/frames.ts';
import type { FeedOrigin } from './delivery-source.ts';
import { messageEvent } from './edge.test-support.ts';
import { prepareEvent } from './serialize.ts';
import { Session, type FeedCursor } from './session.ts';

/** A session with a sink, fed as the gateway feeds it: the cursor says where each live event came from. */
function session() {
  const cursor: FeedCursor = { origin: undefined };
  const s = new Session({ subject: 'bot', guilds: '*', expiresAt: new Date(Date.now() + 3_600_000) }, [0, 1], 0, 1_000, () => {}, cursor);
  const sent: number[] = [];
  s.attach({ send: (frame: SequencedFrame) => sent.push(JSON.parse(`{"d":${frame.body.tail.toString().split('"d":')[1]}`).d.n), terminate: () => {} });
  /** A live record of partition 0 carrying message `n`. */
  const live = (n: number, offset: bigint, sourceOffset: bigint) => {
    cursor.origin = { partition: 0, offset, sourceOffset } satisfies FeedOrigin;
    s.deliver(prepareEvent(messageEvent('1', n)));
    cursor.origin = undefined;
  };
  return { s, sent, live };
}

describe('Session floors (a taken-over session on a node whose feed filter knows less)', () => {
  it("drops held redeliveries at or below the replay's source offset, sends the rest in order", () => {
    const { s, sent, live } = session();
    s.holdLive(new Map());
    // Fanout redelivers source offsets 8 and 9 (the replay passed up to 9), then goes on with 10.
    live(8, 20n, 8n);
    live(9, 21n, 9n);
    live(10, 22n, 10n);
    expect(sent).toEqual([]);
    s.releaseLive(new Map([[0, { offset: 20n, passed: 9n }]]));
    expect(sent).toEqual([10]);
  });

  it('keeps dropping live redeliveries after the release until one record passes the floor', () => {
    const { s, sent, live } = session();
    s.holdLive(new Map());
    s.releaseLive(new Map([[0, { offset: 20n, passed: 9n }]]));
    live(7, 20n, 7n);
    live(9, 21n, 9n);
    live(10, 22n, 10n);
    live(11, 23n, 11n);
    expect(sent).toEqual([10, 11]);
  });

  it('drops live records below an offset floor, and redeliveries of what the checkpoint passed', () => {
    const { s, sent, live } = session();
    s.holdLive(new Map([[0, { offset: 22n, passed: 9n }]]));
    s.releaseLive();
    live(6, 20n, 6n);
    live(7, 21n, 7n);
    live(9, 22n, 9n);
    live(10, 23n, 10n);
    expect(sent).toEqual([10]);
  });

  it('counts the floor in its checkpoint position, so the next owner filters as much', () => {
    const { s } = session();
    s.holdLive(new Map([[0, { offset: 22n, passed: 3n }]]));
    s.releaseLive(new Map([[0, { offset: 20n, passed: 9n }]]));
    expect(s.positionOn(0, { offset: 21n, passed: -1n })).toEqual({ offset: 22n, passed: 9n });
    expect(s.positionOn(0, { offset: 30n, passed: 12n })).toEqual({ offset: 30n, passed: 12n });
    expect(s.positionOn(1, { offset: 5n, passed: 4n })).toEqual({ offset: 5n, passed: 4n });
  });
});
