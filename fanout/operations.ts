import type { EventEnvelope } from '../core/events/envelope.ts';

/** What persisting one event means for the store. Everything else is delivered without a write. */
export type StoreOperation =
  | { kind: 'create'; message: Record<string, unknown> }
  | { kind: 'edit'; edit: Record<string, unknown> }
  | { kind: 'delete'; channelId: string; ids: string[] }
  | { kind: 'none' };

export function operationFor(event: EventEnvelope): StoreOperation {
  const d = event.d;
  if (!isObject(d)) return event.type.startsWith('MESSAGE_') ? invalid() : { kind: 'none' };
  switch (event.type) {
    case 'MESSAGE_CREATE':
      return { kind: 'create', message: withGuild(d, event) };
    case 'MESSAGE_UPDATE':
      return { kind: 'edit', edit: withGuild(d, event) };
    case 'MESSAGE_DELETE':
      return { kind: 'delete', channelId: String(d.channel_id), ids: [String(d.id)] };
    case 'MESSAGE_DELETE_BULK':
      return { kind: 'delete', channelId: String(d.channel_id), ids: Array.isArray(d.ids) ? d.ids.map(String) : [] };
    default:
      return { kind: 'none' };
  }
}

/** Keys an operation touches: two operations on one key must run in their original order. */
export function keysOf(op: StoreOperation): string[] {
  switch (op.kind) {
    case 'create':
      return [`${String(op.message.channel_id)}/${String(op.message.id)}`];
    case 'edit':
      return [`${String(op.edit.channel_id)}/${String(op.edit.id)}`];
    case 'delete':
      return op.ids.map((id) => `${op.channelId}/${id}`);
    case 'none':
      return [];
  }
}

/**
 * Splits operations (in stream order) into waves: within a wave no two operations touch the same
 * message, so a wave can be written with full concurrency and the waves one after another keep
 * every message's create → edit → delete order. A normal stream is one wave per chunk.
 */
export function waves<T extends { op: StoreOperation }>(items: T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let touched = new Set<string>();
  for (const item of items) {
    const keys = keysOf(item.op);
    if (keys.some((k) => touched.has(k))) {
      out.push(current);
      current = [];
      touched = new Set();
    }
    current.push(item);
    for (const k of keys) touched.add(k);
  }
  if (current.length > 0) out.push(current);
  return out;
}

function withGuild(d: Record<string, unknown>, event: EventEnvelope): Record<string, unknown> {
  // A gateway MESSAGE_CREATE carries guild_id; HTTP ingest may only have it on the envelope.
  return d.guild_id === undefined && event.guild_id !== undefined ? { ...d, guild_id: event.guild_id } : d;
}

function invalid(): StoreOperation {
  // A message event without an object payload: let the store's validation reject it with a reason.
  return { kind: 'create', message: {} };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
