import { StoreValidationError } from '../store/index.ts';
import type { MessageSink } from './persist-chunk.ts';

/** In-memory implementations of fanout's own interfaces, for unit tests. */

/** An in-memory store that logs calls and fails on demand. */
export class FakeSink implements MessageSink {
  calls: string[] = [];
  failures: Error[] = [];
  invalidIds = new Set<string>();
  rows = new Map<string, string>();
  private next(): void {
    const failure = this.failures.shift();
    if (failure) throw failure;
  }
  async upsertMessages(messages: Record<string, unknown>[]) {
    this.calls.push(`create ${messages.map((m) => m.id).join(',')}`);
    this.next();
    const bad = messages.flatMap((m, index) => (this.invalidIds.has(String(m.id)) || m.id === undefined ? [{ index, reason: `bad ${String(m.id)}` }] : []));
    if (bad.length > 0) throw new StoreValidationError(bad);
    for (const m of messages) this.rows.set(String(m.id), String(m.content));
  }
  async applyEdits(edits: Record<string, unknown>[]) {
    this.calls.push(`edit ${edits.map((m) => m.id).join(',')}`);
    this.next();
    for (const m of edits) if (this.rows.has(String(m.id))) this.rows.set(String(m.id), String(m.content));
  }
  async deleteMessages(_channel: string, ids: string[]) {
    this.calls.push(`delete ${ids.join(',')}`);
    this.next();
    for (const id of ids) this.rows.delete(id);
  }
}

