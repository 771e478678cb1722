// A string-keyed map that stays tiny while small: the domain keeps one per room and per call, by the 100k.

/** Entries kept in plain arrays up to this count; beyond it a real Map takes over. */
const SMALL_LIMIT = 16;

/**
 * A `Map<string, V>` replacement for collections that are almost always small (a room's slots, a room's
 * membership changes, a call's participants). A JS Map costs ~200–600 bytes even with one entry; this keeps
 * exact-size arrays (copied on insert and delete with `concat`/`slice`: spreading or pushing leaves growth
 * slack; values are updated in place) with linear lookup, and switches to a Map past
 * SMALL_LIMIT entries. Iteration follows insertion order, except that deleting swaps the last entry in.
 */
export class SmallMap<V> {
  private keys: string[] = [];
  private vals: V[] = [];
  private map: Map<string, V> | null = null;

  get size(): number {
    return this.map === null ? this.keys.length : this.map.size;
  }

  get(key: string): V | undefined {
    if (this.map !== null) return this.map.get(key);
    const i = this.keys.indexOf(key);
    return i < 0 ? undefined : this.vals[i];
  }

  has(key: string): boolean {
    return this.map !== null ? this.map.has(key) : this.keys.includes(key);
  }

  set(key: string, value: V): void {
    if (this.map !== null) {
      this.map.set(key, value);
      return;
    }
    const i = this.keys.indexOf(key);
    if (i >= 0) {
      this.vals[i] = value;
    } else if (this.keys.length < SMALL_LIMIT) {
      this.keys = this.keys.concat([key]);
      this.vals = this.vals.concat([value]);
    } else {
      const map = new Map<string, V>();
      this.keys.forEach((k, j) => map.set(k, this.vals[j] as V));
      map.set(key, value);
      this.map = map;
      this.keys = [];
      this.vals = [];
    }
  }

  delete(key: string): boolean {
    if (this.map !== null) return this.map.delete(key);
    const i = this.keys.indexOf(key);
    if (i < 0) return false;
    const last = this.keys.length - 1;
    const keys = this.keys.slice(0, last);
    const vals = this.vals.slice(0, last);
    if (i < last) {
      keys[i] = this.keys[last] as string;
      vals[i] = this.vals[last] as V;
    }
    this.keys = keys;
    this.vals = vals;
    return true;
  }

  /** The values; a snapshot, so the map may be changed while iterating it. */
  values(): readonly V[] {
    return this.map === null ? this.vals.slice() : [...this.map.values()];
  }

  /** The entries; a snapshot, so the map may be changed while iterating it. */
  entries(): readonly (readonly [string, V])[] {
    if (this.map !== null) return [...this.map.entries()];
    return this.keys.map((k, i) => [k, this.vals[i] as V] as const);
  }
}
