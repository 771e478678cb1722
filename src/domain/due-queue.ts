// One instant per key, earliest first: an indexed binary min-heap (set, delete and take-due in O(log n)).

/**
 * When each key is next due. A key holds one instant at a time: `set` moves it (earlier or later), `delete`
 * removes it. `take` pops the keys due at an instant, earliest first, so a caller can work through them in slices.
 */
export class DueQueue {
  private readonly keys: string[] = [];
  private readonly ats: number[] = [];
  /** Key → its index in the heap arrays. */
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.keys.length;
  }

  /** The instant `key` is due, or null when it is not queued. */
  dueAt(key: string): number | null {
    const i = this.index.get(key);
    return i === undefined ? null : (this.ats[i] as number);
  }

  /** The earliest instant queued, or null when nothing is. */
  earliest(): number | null {
    return this.ats.length === 0 ? null : (this.ats[0] as number);
  }

  /** Queues `key` at `at`, replacing the instant it had. */
  set(key: string, at: number): void {
    if (!Number.isFinite(at)) throw new RangeError(`due instant for ${key} is not finite: ${at}`);
    const i = this.index.get(key);
    if (i === undefined) {
      this.keys.push(key);
      this.ats.push(at);
      this.index.set(key, this.keys.length - 1);
      this.up(this.keys.length - 1);
      return;
    }
    const before = this.ats[i] as number;
    this.ats[i] = at;
    if (at < before) this.up(i);
    else if (at > before) this.down(i);
  }

  /** Queues `key` at `at` unless it is already due earlier. */
  setEarlier(key: string, at: number): void {
    const current = this.dueAt(key);
    if (current === null || at < current) this.set(key, at);
  }

  delete(key: string): void {
    const i = this.index.get(key);
    if (i === undefined) return;
    this.index.delete(key);
    const lastKey = this.keys.pop() as string;
    const lastAt = this.ats.pop() as number;
    if (i === this.keys.length) return;
    this.keys[i] = lastKey;
    this.ats[i] = lastAt;
    this.index.set(lastKey, i);
    this.up(i);
    this.down(i);
  }

  /** Removes and returns at most `limit` keys due at or before `now`, earliest first. */
  take(now: number, limit: number): string[] {
    const out: string[] = [];
    while (out.length < limit && this.ats.length > 0 && (this.ats[0] as number) <= now) {
      const key = this.keys[0] as string;
      this.delete(key);
      out.push(key);
    }
    return out;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.ats[parent] as number) <= (this.ats[i] as number)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.ats.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < n && (this.ats[left] as number) < (this.ats[least] as number)) least = left;
      if (right < n && (this.ats[right] as number) < (this.ats[least] as number)) least = right;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private swap(a: number, b: number): void {
    const key = this.keys[a] as string;
    const at = this.ats[a] as number;
    this.keys[a] = this.keys[b] as string;
    this.ats[a] = this.ats[b] as number;
    this.keys[b] = key;
    this.ats[b] = at;
    this.index.set(this.keys[a], a);
    this.index.set(key, b);
  }
}
