import { createServer } from 'node:http';
import { startGatewaySimulator } from '../../infra/discord-sim/index.ts';
import { loadSimulatorConfig, simulatorOptions } from '../../infra/discord-sim/cli.ts';
import { createLogger } from '../../core/logger.ts';

/**
 * The gateway simulator as its own process, for the system tests: Discord, which ingest connects
 * to. Unlike `guildcast sim` it sends only MESSAGE_CREATE (so every message sent can be checked
 * in the store, the deliveries topic and the client) and it answers on a control port
 * (SYSTEM_SIM_CONTROL_PORT) with what it sent:
 *   GET  /world            guild ids and channel ids (and `bot`, READY's user, once a client identified)
 *   POST /traffic?rate=R&total=N   starts the traffic
 *   GET  /sent             every MESSAGE_CREATE generated: { done, stats, messages: [...] }
 *   GET  /rest             the REST limits' counts (`restStats()`: requests, violations, buckets' windows)
 *   POST /rest/force-429?ms=D&retry_after=R[&global=true]   every message route answers 429 for D ms (`forceRateLimit`)
 * Configured by the simulator's own SIM_* variables otherwise.
 */
const config = loadSimulatorConfig();
const controlPort = Number(process.env.SYSTEM_SIM_CONTROL_PORT);
if (!Number.isInteger(controlPort) || controlPort <= 0 || controlPort > 65_535) {
  process.stderr.write(`SYSTEM_SIM_CONTROL_PORT must be a port number, got ${JSON.stringify(process.env.SYSTEM_SIM_CONTROL_PORT)}\n`);
  process.exit(2);
}
const logger = createLogger('gateway-sim');
const simulator = await startGatewaySimulator(simulatorOptions(config, logger));
let trafficDone = false;

const control = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const reply = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.method === 'GET' && url.pathname === '/world') {
    // The bot user Discord's READY names (once someone identified): what messages the bot sends are authored by.
    const bot = (simulator.sent.find((s) => s.t === 'READY')?.d as { user?: { id: string; username: string } } | undefined)?.user;
    return reply(200, { apiBase: simulator.apiBase, token: simulator.token, guildIds: simulator.guildIds, channels: Object.fromEntries(simulator.channels), ...(bot && { bot: { id: bot.id, username: bot.username } }) });
  }
  if (req.method === 'POST' && url.pathname === '/traffic') {
    const rate = Number(url.searchParams.get('rate'));
    const total = Number(url.searchParams.get('total'));
    if (!(rate > 0) || !Number.isInteger(total) || total <= 0) return reply(400, { error: 'rate and total must be positive numbers' });
    simulator.startTraffic({ ratePerSecond: rate, total, mix: { MESSAGE_CREATE: 1 }, contentBytes: { min: 16, max: 200 } });
    void simulator.trafficDone().then(() => (trafficDone = true));
    return reply(200, { started: true });
  }
  if (req.method === 'GET' && url.pathname === '/sent') {
    const messages = simulator.sent
      .filter((s) => s.t === 'MESSAGE_CREATE')
      .map((s) => {
        const d = s.d as { id: string; channel_id: string; guild_id: string; content: string };
        return { id: d.id, channelId: d.channel_id, guildId: d.guild_id, content: d.content, shard: s.shard, sessionId: s.sessionId, seq: s.seq };
      });
    return reply(200, { done: trafficDone, stats: simulator.stats(), messages });
  }
  if (req.method === 'GET' && url.pathname === '/rest') return reply(200, simulator.restStats());
  if (req.method === 'POST' && url.pathname === '/rest/force-429') {
    const durationMs = Number(url.searchParams.get('ms'));
    const retryAfterMs = Number(url.searchParams.get('retry_after'));
    if (!(durationMs > 0) || !(retryAfterMs > 0)) return reply(400, { error: 'ms and retry_after must be positive numbers' });
    simulator.forceRateLimit({ durationMs, retryAfterMs, global: url.searchParams.get('global') === 'true' });
    return reply(200, { forced: true, until: Date.now() + durationMs });
  }
  reply(404, { error: 'not found' });
});
control.listen(controlPort, '127.0.0.1', () => logger.info({ controlPort, apiBase: simulator.apiBase }, 'system-test simulator listening'));

const shutdown = () => {
  control.close();
  void simulator.close().then(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
