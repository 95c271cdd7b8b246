import { describe, expect, it } from 'vitest';
import { Owners } from './owners.ts';

const peers = ['http://a:8082', 'http://b:8082', 'http://c:8082'];
const keys = Array.from({ length: 3000 }, (_, i) => `channels/${1_100_000_000_000_000_000n + BigInt(i)}`);

describe('Owners', () => {
  it('gives every node the same owner for a key, whichever node asks', () => {
    const views = peers.map((self) => new Owners(peers, self));
    for (const key of keys.slice(0, 200)) expect(new Set(views.map((v) => v.ownerOf(key))).size).toBe(1);
    // The order of the configured list does not matter either.
    const shuffled = new Owners([...peers].reverse(), peers[0]!);
    for (const key of keys.slice(0, 200)) expect(shuffled.ownerOf(key)).toBe(views[0]!.ownerOf(key));
  });

  it('spreads keys over the nodes', () => {
    const owners = new Owners(peers, peers[0]!);
    const counts = new Map<string, number>();
    for (const key of keys) counts.set(owners.ownerOf(key), (counts.get(owners.ownerOf(key)) ?? 0) + 1);
    for (const peer of peers) expect(counts.get(peer)).toBeGreaterThan(800); // a third is 1000
  });

  it('moves only the keys of a removed node', () => {
    const before = new Owners(peers, peers[0]!);
    const after = new Owners(peers.slice(0, 2), peers[0]!);
    for (const key of keys) {
      const owner = before.ownerOf(key);
      if (owner !== peers[2]) expect(after.ownerOf(key)).toBe(owner);
    }
  });

  it('refuses a list without this node', () => {
    expect(() => new Owners(peers, 'http://d:8082')).toThrow(/not in the peer list/);
    expect(() => new Owners([], 'http://a:8082')).toThrow(/at least/);
  });
});
