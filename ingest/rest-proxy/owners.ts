import { createHash } from 'node:crypto';

/**
 * Which proxying node owns a key, by rendezvous (highest-random-weight) hashing: every node
 * computes the same answer from the same peer list, and removing a node moves only the keys it
 * owned (nirn-proxy takes `hash % count`, which reshuffles most keys whenever the count changes).
 */
export class Owners {
  readonly peers: readonly string[];

  constructor(
    peers: readonly string[],
    readonly self: string,
  ) {
    if (peers.length === 0) throw new RangeError('a peer list needs at least this node');
    if (!peers.includes(self)) throw new RangeError(`this node (${self}) is not in the peer list (${peers.join(', ')})`);
    this.peers = [...peers];
  }

  ownerOf(key: string): string {
    let best = this.peers[0]!;
    let bestScore = -1n;
    for (const peer of this.peers) {
      const score = createHash('sha256').update(peer).update('\n').update(key).digest().readBigUInt64BE(0);
      if (score > bestScore || (score === bestScore && peer < best)) {
        best = peer;
        bestScore = score;
      }
    }
    return best;
  }

  isSelf(peer: string): boolean {
    return peer === this.self;
  }
}
