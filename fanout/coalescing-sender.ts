import { recordBytes } from '../core/kafka/byte-batches.ts';
import type { TopicMessages } from '../core/kafka/types.ts';

interface Waiting {
  topicMessages: TopicMessages[];
  bytes: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Joins the produce requests that partitions working concurrently ask for in the same turn of
 * the event loop into one (the chunks of a fetch tend to finish together, their store writes
 * answered in one read), up to `maxRequestBytes`. Each caller's promise settles with the request
 * that carried its records, so a failure is retried by every chunk in it, as if alone: records
 * already written by the failed request are sent again, which the edge drops by source offset.
 * A partition's sends still go one after another (its chunks are sequential), so its order holds.
 */
export class CoalescingSender {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly sendBatch: (topicMessages: TopicMessages[]) => Promise<void>,
    private readonly maxRequestBytes: number,
  ) {}

  send(topicMessages: TopicMessages[]): Promise<void> {
    let bytes = 0;
    for (const t of topicMessages) for (const m of t.messages) bytes += recordBytes(m);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ topicMessages, bytes, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = () => {
    this.scheduled = false;
    const all = this.waiting;
    this.waiting = [];
    for (let start = 0; start < all.length; ) {
      let end = start + 1;
      let bytes = all[start]!.bytes;
      while (end < all.length && bytes + all[end]!.bytes <= this.maxRequestBytes) bytes += all[end++]!.bytes;
      this.request(all.slice(start, end));
      start = end;
    }
  };

  private request(group: Waiting[]): void {
    const byTopic = new Map<string, TopicMessages>();
    for (const w of group)
      for (const t of w.topicMessages) {
        const merged = byTopic.get(t.topic);
        if (merged) merged.messages.push(...t.messages);
        else byTopic.set(t.topic, { topic: t.topic, messages: [...t.messages] });
      }
    this.sendBatch([...byTopic.values()]).then(
      () => group.forEach((w) => w.resolve()),
      (error: unknown) => group.forEach((w) => w.reject(error)),
    );
  }
}
