import type { Logger } from '../core/logger.ts';
import { decodeGatewaySession, encodeGatewaySession, type GatewaySessionStore, type StoredCheckpoint, type StoredGatewaySession } from '../store/index.ts';

/**
 * Where the edge keeps its sessions for RESUME on any node: the Cassandra one
 * (store/state/gateway-session-store.ts) or `MemorySessionStore` (unit tests, several edges in one process).
 */
export type SessionStore = GatewaySessionStore;
export type { StoredCheckpoint as SessionCheckpoint, StoredGatewaySession as StoredSession };

/**
 * The same rows as the Cassandra table (one per epoch, each with its own expiry, the newest read),
 * stored as the same JSON text, so the codec and its validation run in unit tests too.
 */
export class MemorySessionStore implements SessionStore {
  private readonly rows = new Map<string, Map<number, { text: string; expiresAt: number }>>();
  /** Saves so far (tests count checkpoint writes by it). */
  saves = 0;

  constructor(
    private readonly logger?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async load(id: string): Promise<StoredGatewaySession | undefined> {
    const epochs = this.rows.get(id);
    if (!epochs) return undefined;
    const now = this.now();
    const newest = [...epochs].filter(([, row]) => row.expiresAt > now).sort(([a], [b]) => b - a)[0];
    if (!newest) return undefined;
    const decoded = decodeGatewaySession(newest[1].text);
    if (!decoded.ok || decoded.state.id !== id || decoded.state.epoch !== newest[0]) {
      this.logger?.warn({ session: id, epoch: newest[0], reason: decoded.ok ? 'id or epoch differ from the row' : decoded.reason }, 'stored gateway session is malformed; treated as absent');
      return undefined;
    }
    return decoded.state;
  }

  async save(state: StoredGatewaySession, ttlMs: number): Promise<void> {
    this.saves++;
    this.put(state.id, state.epoch, encodeGatewaySession(state), ttlMs);
  }

  async remove(id: string): Promise<void> {
    this.rows.delete(id);
  }

  /** Writes a row's text as-is (tests: a malformed row). */
  put(id: string, epoch: number, text: string, ttlMs = 60_000): void {
    let epochs = this.rows.get(id);
    if (!epochs) this.rows.set(id, (epochs = new Map()));
    epochs.set(epoch, { text, expiresAt: this.now() + ttlMs });
  }
}
