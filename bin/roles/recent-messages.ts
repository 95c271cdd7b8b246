/**
 * The latest version of the messages this process wrote (created, edited, deleted), most recent
 * `max` of them. The store learns of a write a fanout hop after the client got its answer; a
 * client that edits or deletes right away is answered from here instead of a stale or absent row.
 */
export class RecentMessages {
  private readonly entries = new Map<string, Record<string, unknown> | 'deleted'>();

  constructor(private readonly max: number) {}

  get(channelId: string, messageId: string): Record<string, unknown> | 'deleted' | undefined {
    return this.entries.get(`${channelId}/${messageId}`);
  }

  set(channelId: string, messageId: string, message: Record<string, unknown> | 'deleted'): void {
    const key = `${channelId}/${messageId}`;
    this.entries.delete(key);
    this.entries.set(key, message);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}
