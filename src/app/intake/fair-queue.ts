// A bounded queue that serves its keys in turn: one key's flood waits behind every other key's next item.

export interface FairQueueLimits {
  /** Items in all. */
  readonly total: number;
  /** The sum of the items' sizes. */
  readonly bytes: number;
  /** Items of one key. */
  readonly perKey: number;
}

interface Entry<T> {
  readonly item: T;
  readonly bytes: number;
}

export class FairQueue<T> {
  /** Keys in the order they are served next; each with its items, oldest first. */
  private readonly byKey = new Map<string, Entry<T>[]>();
  private count = 0;
  private size = 0;

  constructor(private readonly limits: FairQueueLimits) {}

  /** Adds an item; false (and nothing kept) when a limit would be passed. */
  push(key: string, item: T, bytes: number): boolean {
    const items = this.byKey.get(key);
    if (
      this.count >= this.limits.total ||
      this.size + bytes > this.limits.bytes ||
      (items?.length ?? 0) >= this.limits.perKey
    )
      return false;
    if (items === undefined) this.byKey.set(key, [{ item, bytes }]);
    else items.push({ item, bytes });
    this.count++;
    this.size += bytes;
    return true;
  }

  /** The next item: the oldest of the key whose turn it is (that key then goes to the back). */
  shift(): T | undefined {
    const first = this.byKey.entries().next();
    if (first.done === true) return undefined;
    const [key, items] = first.value;
    const entry = items.shift() as Entry<T>;
    this.byKey.delete(key);
    if (items.length > 0) this.byKey.set(key, items);
    this.count--;
    this.size -= entry.bytes;
    return entry.item;
  }

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.size;
  }
}
