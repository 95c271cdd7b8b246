import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Events, GatewayIntentBits, type Message } from 'discord.js';
import { eventually } from '../support.ts';
import { startSystem, type System } from './system.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const venv = process.env.GUILDCAST_VENV ?? join(homedir(), '.cache', 'guildcast', 'venv');
const python = join(venv, 'bin', 'python');

/** Runs the bot script to its end; every line it printed, and its exit code. */
function runBot(args: string[]): Promise<{ code: number | null; steps: Record<string, any>[]; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [join(here, 'discordpy_bot.py'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const steps = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
      resolve({ code, steps, output: `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}` });
    });
  });
}

/**
 * discord.py 2.x, from PyPI into a venv (test/contract/python-env.sh), unmodified but for its
 * REST base and gateway URL, as a bot for one guild of `guildcast all`: it logs in, gets a live
 * on_message, reads history, send()s, and sees its message over the gateway and in history. A
 * discord.js session watching every guild must receive that message too.
 */
describe('discord.py against guildcast all', () => {
  let system: System;
  let watcher: Client;
  const watched: Message[] = [];

  const missingVenv = `no Python venv at ${venv}: run test/contract/python-env.sh (GUILDCAST_VENV overrides the place)`;

  beforeAll(async () => {
    // The test itself fails on a missing venv (not a skip): nothing to start for it.
    if (!existsSync(python)) return;
    system = await startSystem('contractpy');
    watcher = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent], rest: { api: `${system.base}/api` } });
    const ready = new Promise<void>((resolve) => watcher.once(Events.ClientReady, () => resolve()));
    watcher.on(Events.MessageCreate, (m) => void watched.push(m));
    await watcher.login(await system.tokens.mint({ username: 'watcher', guilds: '*', ttlSeconds: 600 }));
    await ready;
  });

  afterAll(async () => {
    await watcher?.destroy();
    if (system) expect(await system.stop()).toBe(0);
  });

  it('logs in, gets on_message, reads history and sends a message every session receives', async () => {
    expect(existsSync(python), missingVenv).toBe(true);
    const guild = [...watcher.guilds.cache.keys()].sort()[0]!;
    const token = await system.tokens.mint({ username: 'py-bot', guilds: [guild], ttlSeconds: 600 });
    const version = await new Promise<string>((resolve) => {
      const child = spawn(python, ['-c', 'import discord; print(discord.__version__)']);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', () => resolve(out.trim()));
    });
    expect(version).toMatch(/^2\./);

    const run = await runBot([system.base, token, guild]);
    const step = (name: string) => {
      const found = run.steps.find((s) => s.step === name);
      if (!found) throw new Error(`the bot never reported "${name}" (exit ${run.code})\n${run.output}`);
      return found;
    };
    expect(run.code, run.output).toBe(0);
    const ready = step('ready');
    expect(ready.username).toBe('py-bot');
    expect(ready.user_id).toMatch(/^\d{17,20}$/);
    expect(ready.application_id).toBe(ready.user_id);
    expect(ready.guilds).toEqual([guild]);
    const live = step('on_message');
    expect(live.content.length).toBeGreaterThan(0);
    expect(step('history').ids.length).toBeGreaterThan(0);
    const sent = step('sent');
    expect(sent).toMatchObject({ author_id: ready.user_id, guild_id: guild });
    expect(step('own_on_message')).toMatchObject({ id: sent.id, content: sent.content });
    expect(step('own_in_history')).toMatchObject({ id: sent.id, content: sent.content });
    step('done');
    const seen = await eventually('the discord.py message at the discord.js session', () => watched.find((m) => m.id === sent.id));
    expect(seen.content).toBe(sent.content);
    expect(seen.author.id).toBe(ready.user_id);
  });
});
