// Reason paths of list entries, built once per position: a parser reads them only when an entry is wrong.

/**
 * Memoises `build` by list position, so that a parser does not build its entries' reason paths again for
 * every event. Bounded: parsed lists have at most MAX_LIST_LENGTH entries.
 */
export function byPosition<T>(build: (index: number) => T): (index: number) => T {
  const built: T[] = [];
  return (index) => (built[index] ??= build(index));
}
