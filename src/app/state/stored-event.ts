// What a slot row keeps of an event: the event as its sender sent it, without what the homeserver added for clients.

/** The `unsigned` fields a sticky membership's expiry may be read from (MSC4354: the time left when delivered). */
const STICKY_TIME_LEFT = ["msc4354_sticky_duration_ttl_ms", "sticky_duration_remaining_ms"] as const;

/**
 * The event without `unsigned` (the homeserver's `prev_content`, `redacted_because`, `age`...: up to 64 KiB each,
 * which a restart never reads), except the sticky time left, which a restart needs to parse the event the same
 * way. An `unsigned` that is no object is kept as it is (it makes a membership invalid, and so stays invalid).
 */
export function storedEvent(event: unknown): unknown {
  if (typeof event !== "object" || event === null || !("unsigned" in event)) return event;
  const { unsigned, ...rest } = event as Record<string, unknown>;
  if (typeof unsigned !== "object" || unsigned === null || Array.isArray(unsigned)) return event;
  const kept: Record<string, unknown> = {};
  for (const key of STICKY_TIME_LEFT)
    if (key in unsigned) kept[key] = (unsigned as Record<string, unknown>)[key];
  return Object.keys(kept).length === 0 ? rest : { ...rest, unsigned: kept };
}
