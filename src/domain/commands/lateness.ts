// How late a command reached the service, measured with the homeserver's own figures, never the sender's timestamp.
import type { DurationMs, EpochMs } from "../time";

/**
 * The time since the homeserver received a command: `unsigned.age`, which the homeserver computes from its own
 * receive time when it pushes the event to us (and again on every retry), plus how long the event then waited
 * in our journal (`receivedAt` → `now`, our clock). `origin_server_ts` is not used: it is the sender's claim.
 * A missing or malformed age counts as 0, so only our own wait is measured.
 */
export function commandDelay(unsigned: unknown, receivedAt: EpochMs, now: EpochMs): DurationMs {
  const age =
    typeof unsigned === "object" && unsigned !== null && !Array.isArray(unsigned)
      ? (unsigned as Record<string, unknown>).age
      : undefined;
  const fromHomeserver = typeof age === "number" && Number.isFinite(age) ? Math.max(0, age) : 0;
  return fromHomeserver + Math.max(0, now - receivedAt);
}
