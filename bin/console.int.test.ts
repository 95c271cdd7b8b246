import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { freePort, startRole, type RoleProcess } from '../test/child.ts';
import { eventually, uniqueName } from '../test/support.ts';

/**
 * The whole system as `npm start` runs it (one process: simulator, ingest, fanout, edge, api),
 * and the console in a real headless Chromium: a message sent through HTTP ingest travels
 * Kafka → fanout → store → deliveries → edge → the page's gateway session, and is on the page;
 * after a reload it comes back from history over REST.
 */
describe('the live console in Chromium', () => {
  let system: RoleProcess;
  let browser: Browser;
  let base: string;
  const ingestToken = randomBytes(12).toString('hex');

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const prefix = uniqueName('console');
    system = startRole('bin/guildcast.mjs', {
      GUILDCAST_PORT: String(port),
      GUILDCAST_LOCAL_INFRA: 'false', // the suite's global setup runs them
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENT_PARTITIONS: '4',
      CASSANDRA_KEYSPACE: prefix.toLowerCase(),
      FANOUT_GROUP_ID: `${prefix}-fanout`,
      SIM_GUILDS: '2',
      SIM_RATE: '0',
      INGEST_HTTP_TOKEN: ingestToken,
    }, ['all']);
    await eventually('the system to be ready', async () => ((await fetch(`${base}/readyz`).catch(() => undefined))?.ok ? true : undefined), 120_000).catch((err) => {
      throw new Error(`${err.message}\n--- its output ---\n${system.output()}`);
    });
    // Debian's chromium, started the way this machine allows (no sandbox as root, no background network).
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    expect(await system?.kill('SIGTERM')).toBe(0);
  });

  it('shows a message produced through ingest as it arrives, and again from history', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${base}/`);
    await page.locator('#gateway-state', { hasText: 'ready' }).waitFor({ timeout: 60_000 });
    await page.locator('#channel option').first().waitFor({ state: 'attached', timeout: 60_000 });
    const guildId = await page.locator('#guild').inputValue();
    const channelId = await page.locator('#channel').inputValue();
    expect(guildId).toMatch(/^\d+$/);
    expect(channelId).toMatch(/^\d+$/);

    const content = `hello from the browser test ${randomBytes(4).toString('hex')}`;
    const response = await fetch(`${base}/api/v10/channels/${channelId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bot ${ingestToken}`, 'x-guildcast-guild-id': guildId },
      body: JSON.stringify({ content }),
    });
    expect(response.status).toBe(200);
    const sent = (await response.json()) as { id: string; content: string };
    expect(sent.content).toBe(content);

    const live = page.locator(`#messages li.live[data-id="${sent.id}"] .content`);
    await live.waitFor({ timeout: 60_000 });
    expect(await live.textContent()).toBe(content);

    await page.reload();
    // Guilds arrive in any order after a reload: choose the same guild and channel again.
    await page.locator(`#guild option[value="${guildId}"]`).waitFor({ state: 'attached', timeout: 60_000 });
    await page.selectOption('#guild', guildId);
    await page.selectOption('#channel', channelId);
    const fromHistory = page.locator(`#messages li[data-id="${sent.id}"] .content`);
    await fromHistory.waitFor({ timeout: 60_000 });
    expect(await fromHistory.textContent()).toBe(content);
    expect(await page.locator(`#messages li.live[data-id="${sent.id}"]`).count()).toBe(0); // this time it came from REST
    expect(errors).toEqual([]);
  });
});
