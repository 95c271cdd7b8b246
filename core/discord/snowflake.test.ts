import { describe, expect, it } from 'vitest';
import { DISCORD_EPOCH, SnowflakeGenerator, isSnowflake, parseSnowflake, snowflakeAt, snowflakeString, timestampOf } from './snowflake.ts';

describe('snowflakes', () => {
  it('reads the timestamp of a real Discord id', () => {
    // Discord's documentation example: 175928847299117063 was made at 2016-04-30T11:18:25.796Z.
    expect(new Date(timestampOf(175928847299117063n)).toISOString()).toBe('2016-04-30T11:18:25.796Z');
  });

  it('makes pagination bounds from a time: the smallest id of that millisecond', () => {
    const ms = Date.UTC(2024, 0, 1);
    expect(timestampOf(snowflakeAt(ms))).toBe(ms);
    expect(timestampOf(snowflakeAt(ms) - 1n)).toBe(ms - 1);
    expect(snowflakeAt(Number(DISCORD_EPOCH) - 5)).toBe(0n);
  });

  it('parses only 64-bit decimal strings', () => {
    expect(parseSnowflake('175928847299117063')).toBe(175928847299117063n);
    expect(parseSnowflake('18446744073709551615')).toBe(2n ** 64n - 1n);
    for (const bad of ['18446744073709551616', '-1', '1e5', ' 1', '', 12, null, 'abc']) expect(parseSnowflake(bad)).toBeUndefined();
  });

  it('checks strings the same way everywhere: the zod schema and the type guard agree', () => {
    const schema = snowflakeString('not one');
    for (const value of ['0', '175928847299117063', '9999999999999999999', '18446744073709551615', '18446744073709551616', '99999999999999999999', '123456789012345678901', '', '1.5']) {
      expect(schema.safeParse(value).success).toBe(isSnowflake(value));
    }
    expect(isSnowflake('9999999999999999999')).toBe(true); // 19 digits: always below 2^64
    expect(isSnowflake('99999999999999999999')).toBe(false); // 20 digits above 2^64 - 1
    expect(schema.safeParse('x').error?.issues[0]?.message).toBe('not one');
  });

  it('generates monotonic ids carrying worker, process and increment', () => {
    const gen = new SnowflakeGenerator({ workerId: 3, processId: 5, now: () => 1_700_000_000_000 });
    const a = gen.next();
    const b = gen.next();
    expect(b).toBe(a + 1n);
    expect((a >> 17n) & 0x1fn).toBe(3n);
    expect((a >> 12n) & 0x1fn).toBe(5n);
    expect(timestampOf(a)).toBe(1_700_000_000_000);
  });

  it('waits for the next millisecond once 4096 ids are used, and never goes back with the clock', () => {
    let t = 1_700_000_000_000;
    let calls = 0;
    // The clock stays on one millisecond until the generator has had to ask it again.
    const gen = new SnowflakeGenerator({ now: () => (++calls > 4097 ? t + 1 : t) });
    const ids = Array.from({ length: 4097 }, () => gen.next());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(timestampOf(ids[4095]!)).toBe(t);
    expect(timestampOf(ids[4096]!)).toBe(t + 1);
    expect(ids[4096]! & 0xfffn).toBe(0n);
    expect(calls).toBeGreaterThan(4097);

    t -= 10_000; // the clock steps back: ids keep growing
    const back = new SnowflakeGenerator({ now: () => t });
    const first = back.next();
    t -= 5;
    expect(back.next() > first).toBe(true);
  });

  it('rejects out-of-range worker and process ids', () => {
    expect(() => new SnowflakeGenerator({ workerId: 32 })).toThrow(RangeError);
    expect(() => new SnowflakeGenerator({ processId: -1 })).toThrow(RangeError);
  });
});
