import { frameBody } from '../../core/discord/gateway/frames.ts';
import { GatewaySession } from '../../core/discord/gateway/session.ts';

/**
 * Heap a session holds for RESUME once its replay buffer is full: `sessions` sessions each sent
 * the same `capacity` events (bodies shared, as the edge shares them), measured after a forced GC.
 * The buffer's share of an active session's memory, which idle-connection figures do not show.
 */
export function replayHeapPerSession(gc: () => void, { sessions = 1_000, capacity = 1_000 } = {}): number {
  const bodies = Array.from({ length: capacity }, (_, i) => frameBody('MESSAGE_CREATE', { id: String(i), content: 'x' }));
  gc();
  const before = process.memoryUsage().heapUsed;
  const all = Array.from({ length: sessions }, () => new GatewaySession({ replayCapacity: capacity }));
  for (const body of bodies) for (const session of all) session.dispatch(body);
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / sessions;
  // Checked after the measurement, so the sessions are still reachable when it is taken.
  const sent = all.reduce((sum, session) => sum + session.sequence, 0);
  if (sent !== sessions * capacity) throw new Error(`replay memory: ${sent} frames dispatched, expected ${sessions * capacity}`);
  return bytes;
}
