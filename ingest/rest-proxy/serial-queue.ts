/** One holder at a time, first come first served; `length` counts the holder and the waiters. */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  length = 0;

  async acquire(): Promise<() => void> {
    this.length++;
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.length--;
      release();
    };
  }
}
