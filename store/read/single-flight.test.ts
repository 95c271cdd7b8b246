import { describe, expect, it } from 'vitest';
import { SingleFlight } from './single-flight.ts';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('single flight', () => {
  it('shares one execution among identical calls in flight, and none after it settled', async () => {
    const joined: string[] = [];
    const flight = new SingleFlight<number>((key) => joined.push(key));
    let runs = 0;
    const gate = deferred<number>();
    const work = () => (runs++, gate.promise);
    const calls = [flight.run('a', work), flight.run('a', work), flight.run('b', work)];
    gate.resolve(7);
    expect(await Promise.all(calls)).toEqual([7, 7, 7]);
    expect(runs).toBe(2);
    expect(joined).toEqual(['a']);
    expect(flight.pending).toBe(0);
    await flight.run('a', async () => (runs++, 1));
    expect(runs).toBe(3);
  });

  it('shares failures too, then lets the next call try again', async () => {
    const flight = new SingleFlight<number>();
    const gate = deferred<number>();
    const first = flight.run('k', () => gate.promise);
    const second = flight.run('k', () => Promise.resolve(2));
    gate.reject(new Error('down'));
    await expect(first).rejects.toThrow('down');
    await expect(second).rejects.toThrow('down');
    expect(await flight.run('k', () => Promise.resolve(3))).toBe(3);
  });

  it('starts a new execution for callers after forget, without disturbing the old one', async () => {
    const flight = new SingleFlight<string>();
    const gate = deferred<string>();
    const old = flight.run('h:1:x', () => gate.promise);
    flight.forget((key) => key.startsWith('h:1:'));
    const fresh = flight.run('h:1:x', () => Promise.resolve('new'));
    gate.resolve('old');
    expect([await old, await fresh]).toEqual(['old', 'new']);
    expect(flight.pending).toBe(0);
  });
});
