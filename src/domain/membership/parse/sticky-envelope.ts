// MSC4354 sticky events: the sticky key, the sticky duration and when the stickiness (the membership) ends.
import type { DurationMs, EpochMs } from "../../time";
import type { Envelope } from "./envelope";
import { addMs, isRecord, readId, readTs, type JsonRecord } from "./read";
import type { ParseContext } from "./result";

/** MSC4354 caps stickiness at one hour whatever the sender asks for. */
export const MAX_STICKY_DURATION_MS: DurationMs = 3_600_000;

export interface StickyInfo {
  /** `content.sticky_key` (stable) or `content.msc4354_sticky_key` (unstable); null when unusable. */
  readonly stickyKey: string | null;
  /** The sticky duration as sent, else the remaining TTL the server delivered; null when not sticky. */
  readonly durationMs: DurationMs | null;
  /** When the stickiness ends: `min(receivedAt, origin_server_ts) + min(duration, 1 h)`, or from the TTL. */
  readonly expiresAt: EpochMs | null;
}

function readDuration(holder: unknown, field: string, path: string, reasons: string[]): DurationMs | null {
  if (holder === undefined) return null;
  if (!isRecord(holder)) {
    reasons.push(`${path}: not an object`);
    return null;
  }
  return holder[field] === undefined ? null : readTs(holder[field], `${path}.${field}`, reasons);
}

/**
 * Reads the sticky parts of an event: the top-level `msc4354_sticky`/`sticky` object's `duration_ms`, else
 * `unsigned.msc4354_sticky_duration_ttl_ms` / `unsigned.sticky_duration_remaining_ms` (time left when the
 * server delivered it, so it counts from our receive instant). Pushes a reason when the event is not sticky.
 */
export function readSticky(
  env: Envelope,
  content: JsonRecord,
  ctx: ParseContext,
  reasons: string[],
): StickyInfo {
  const event = env.event;
  const duration =
    readDuration(event.msc4354_sticky, "duration_ms", "msc4354_sticky", reasons) ??
    readDuration(event.sticky, "duration_ms", "sticky", reasons);
  let ttl: DurationMs | null = null;
  if (duration === null) {
    const unsigned = event.unsigned;
    if (isRecord(unsigned)) {
      ttl =
        readDuration(unsigned, "msc4354_sticky_duration_ttl_ms", "unsigned", reasons) ??
        readDuration(unsigned, "sticky_duration_remaining_ms", "unsigned", reasons);
    } else if (unsigned !== undefined) {
      reasons.push("unsigned: not an object");
    }
  }
  let expiresAt: EpochMs | null = null;
  if (duration !== null) {
    const start = Math.min(ctx.receivedAt, env.originServerTs);
    expiresAt = addMs(start, Math.min(duration, MAX_STICKY_DURATION_MS));
  } else if (ttl !== null) {
    expiresAt = addMs(ctx.receivedAt, Math.min(ttl, MAX_STICKY_DURATION_MS));
  } else {
    reasons.push("msc4354_sticky: missing, not a sticky event");
  }
  const stable = content.sticky_key;
  const unstable = content.msc4354_sticky_key;
  let stickyKey: string | null;
  if (stable !== undefined && unstable !== undefined && stable !== unstable) {
    reasons.push("content.sticky_key: differs from msc4354_sticky_key");
    stickyKey = null;
  } else if (stable !== undefined) {
    stickyKey = readId(stable, "content.sticky_key", reasons);
  } else {
    stickyKey = readId(unstable, "content.msc4354_sticky_key", reasons);
  }
  return { stickyKey, durationMs: duration ?? ttl, expiresAt };
}
