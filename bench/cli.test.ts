import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './cli.ts';

function options(argv: string[]) {
  const parsed = parseBenchArgs(argv);
  if (!('options' in parsed)) throw new Error(`expected options, got ${JSON.stringify(parsed)}`);
  return parsed;
}

describe('bench command line', () => {
  it('takes --servers-warmup 0 to skip the servers warm-up, and leaves it unset without the flag', () => {
    expect(options(['e2e', '--servers-warmup', '0']).options.serversWarmupSeconds).toBe(0);
    expect(options(['e2e', '--servers-warmup', '90']).options.serversWarmupSeconds).toBe(90);
    expect(options(['e2e']).options.serversWarmupSeconds).toBeUndefined();
  });

  it('names the flag and the value when a number is not a whole number', () => {
    expect(parseBenchArgs(['e2e', '--servers-warmup=-1'])).toEqual({ usage: '--servers-warmup expects a whole number, got "-1"' });
    expect(parseBenchArgs(['e2e', '--servers-warmup', 'soon'])).toEqual({ usage: '--servers-warmup expects a whole number, got "soon"' });
    expect(parseBenchArgs(['e2e', '--rate', '0'])).toEqual({ usage: '--rate expects a positive whole number, got "0"' });
  });

  it('answers an unknown flag or a missing value with usage, not a crash', () => {
    const unknown = parseBenchArgs(['e2e', '--no-such-flag']);
    expect('usage' in unknown && unknown.usage).toMatch(/--no-such-flag/);
    const missing = parseBenchArgs(['e2e', '--servers-warmup']);
    expect('usage' in missing && missing.usage).toMatch(/--servers-warmup/);
  });

  it('picks the scenario by name and refuses an unknown one', () => {
    expect(options(['e2e', '--rate', '40']).scenario.name).toBe('e2e');
    expect(options(['e2e', '--rate', '40']).options.rate).toBe(40);
    const unknown = parseBenchArgs(['nope']);
    expect('usage' in unknown && unknown.usage.startsWith('unknown scenario "nope"')).toBe(true);
  });
});
