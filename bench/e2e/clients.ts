import { WebSocket } from 'ws';
import { shardFor } from '../../core/events/partition.ts';
import { LatencyRecorder } from '../kit/latency.ts';
import { decodeNonce, SequenceTracker } from './accounting.ts';
import { scanDispatch } from './frame-scan.ts';
import { serve } from './ipc.ts';

/**
 * One of the e2e bench's measuring-client processes (the driver forks several, each holding part
 * of the sessions, so one event loop's limit is not taken for the system's). Each session is a
 * gateway v10 client as real ones behave: HELLO, IDENTIFY, heartbeats; on a close it may resume
 * (4000 and other non-fatal codes), on op 7 it reconnects and RESUMEs, on op 9 it RESUMEs or
 * re-IDENTIFYs as `d` says. Closes, resumes and re-identifies are counted, not hidden.
 *
 * Per message the work is O(1): the frame is scanned, not parsed (frame-scan.ts), and the nonce's
 * guild number and sequence go into a SequenceTracker slot (session × guild).
 */
const INTENTS = (1 << 0) | (1 << 9) | (1 << 15);
/** Close codes after which Discord says not to reconnect. */
const FATAL = new Set([4004, 4010, 4011, 4012, 4013, 4014]);

interface Session {
  index: number;
  token: string;
  shard: [number, number];
  /** Guild numbers this session must receive. */
  expects: number[];
  ws?: WebSocket;
  sessionId?: string;
  resumeUrl?: string;
  seq: number | null;
  heartbeat?: NodeJS.Timeout;
  ready?: () => void;
}

const now = () => performance.timeOrigin + performance.now();
let guildIds: string[] = [];
let sessions: Session[] = [];
let tracker = new SequenceTracker(0);
const latency = new LatencyRecorder();
let measuring = false;
/** Only messages meant to be sent from here on are timed: a backlog from the warm-up is not this window's. */
let measureFrom = Infinity;
let stopping = false;
let url = '';
let received = 0;
const events = { closes: {} as Record<string, number>, resumes: 0, resumed: 0, reidentifies: 0, invalid_sessions: 0 };

function open(session: Session, resume: boolean): void {
  const ws = new WebSocket(`${resume && session.resumeUrl ? session.resumeUrl : url}/?v=10&encoding=json`, { perMessageDeflate: false });
  session.ws = ws;
  ws.on('error', () => {}); // a failed socket also emits close, handled there
  ws.on('close', (code) => {
    clearInterval(session.heartbeat);
    if (stopping || session.ws !== ws) return;
    events.closes[code] = (events.closes[code] ?? 0) + 1;
    if (FATAL.has(code)) {
      // Not resumable (bad token, shard, intents): the session stays down and its messages count missing.
      session.ready?.();
      session.ready = undefined;
      return;
    }
    // Back off a little as real clients do, then resume if there is a session to resume.
    setTimeout(() => open(session, session.sessionId !== undefined), 250 + Math.random() * 250);
  });
  ws.on('message', (data: Buffer) => {
    const scanned = scanDispatch(data);
    if (scanned) {
      session.seq = scanned.s;
      if (scanned.t !== 'MESSAGE_CREATE' || scanned.nonce === undefined) return;
      const n = decodeNonce(scanned.nonce);
      if (!n) return;
      received++;
      if (measuring && n.intendedAtMs >= measureFrom) latency.recordMs(now() - n.intendedAtMs);
      tracker.record(session.index * guildIds.length + n.guildIndex, n.seq);
      return;
    }
    const frame = JSON.parse(data.toString()) as { op: number; t?: string; s?: number | null; d: any };
    if (frame.s != null) session.seq = frame.s;
    switch (frame.op) {
      case 10:
        session.heartbeat = setInterval(() => ws.send(JSON.stringify({ op: 1, d: session.seq })), frame.d.heartbeat_interval);
        session.heartbeat.unref();
        if (resume && session.sessionId) {
          events.resumes++;
          ws.send(JSON.stringify({ op: 6, d: { token: session.token, session_id: session.sessionId, seq: session.seq ?? 0 } }));
        } else identify(session, ws);
        break;
      case 0:
        if (frame.t === 'READY') {
          session.sessionId = frame.d.session_id;
          session.resumeUrl = frame.d.resume_gateway_url;
          session.ready?.();
          session.ready = undefined;
        } else if (frame.t === 'RESUMED') events.resumed++;
        break;
      case 7: // reconnect: close with a code that keeps the session, then resume
        ws.close(4900);
        break;
      case 9:
        events.invalid_sessions++;
        if (frame.d !== true) {
          session.sessionId = undefined;
          session.seq = null;
        }
        ws.close(4900);
        break;
    }
  });
}

function identify(session: Session, ws: WebSocket): void {
  if (session.sessionId === undefined && session.ready === undefined) events.reidentifies++;
  ws.send(JSON.stringify({ op: 2, d: { token: session.token, intents: INTENTS, shard: session.shard, properties: { os: 'linux', browser: 'guildcast-bench', device: 'guildcast-bench' } } }));
}

const reporter = setInterval(() => {
  process.send!({ cmd: 'tick', received });
  received = 0;
}, 1000);
reporter.unref();

serve({
  async connect(m: { url: string; guildIds: string[]; sessions: { index: number; token: string; shard: [number, number] }[] }) {
    url = m.url;
    guildIds = m.guildIds;
    stopping = false;
    const ids = guildIds.map((g) => BigInt(g));
    sessions = m.sessions.map((s, local) => ({
      index: local,
      token: s.token,
      shard: s.shard,
      expects: ids.flatMap((g, i) => (shardFor(g, s.shard[1]) === s.shard[0] ? [i] : [])),
      seq: null,
    }));
    tracker = new SequenceTracker(sessions.length * guildIds.length);
    for (const k of Object.keys(events)) (events as Record<string, unknown>)[k] = k === 'closes' ? {} : 0;
    for (let i = 0; i < sessions.length; i += 50)
      await Promise.all(
        sessions.slice(i, i + 50).map(
          (s) =>
            new Promise<void>((resolve) => {
              s.ready = resolve;
              open(s, false);
            }),
        ),
      );
    return { sessions: sessions.length };
  },
  window(m: { measuring: boolean; from?: number }) {
    if (m.measuring) {
      latency.reset();
      measureFrom = m.from ?? 0;
    }
    measuring = m.measuring;
    return { histogram: latency.encode() };
  },
  verify(m: { sent: number[] }) {
    let missing = 0;
    let expected = 0;
    for (const s of sessions)
      for (const g of s.expects) {
        expected += m.sent[g] ?? 0;
        missing += tracker.missing(s.index * guildIds.length + g, m.sent[g] ?? 0);
      }
    return { expected, missing, ...tracker.counts, events: structuredClone(events), memory: process.memoryUsage().rss };
  },
  disconnect() {
    stopping = true;
    for (const s of sessions) {
      clearInterval(s.heartbeat);
      s.ws?.close(1000);
    }
    return {};
  },
  close() {
    stopping = true;
    for (const s of sessions) s.ws?.terminate();
    setImmediate(() => process.exit(0));
    return {};
  },
});
process.send!({ cmd: 'ready' });
