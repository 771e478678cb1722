// Call memberships a room holds that this service could not read, though clients may: while any counts, nobody
// can tell which SFU the room's oldest-membership call is on.
import type { EpochMs } from "../time";
import { EncryptedSightings } from "./encrypted-sightings";

/**
 * Clients are more lenient than the parsers (js-sdk accepts a negative `created_ts`, any state key, any
 * `membershipID`), and an encrypted sticky membership may be unreadable to the service, or read differently by it
 * than by clients. Such a membership can be the oldest a client sees, and so move the call to an SFU this service
 * never learns of. A refused one is remembered by its slot until a readable event replaces it (state) or its
 * stickiness can have ended; an encrypted one is an `EncryptedSightings` entry.
 */
export class UnreadMemberships {
  /** Refused slots → until when they count; made on first use (most rooms never hold one). */
  private bySlot: Map<string, EpochMs> | null = null;
  readonly encrypted = new EncryptedSightings();

  /** The slot's latest event was a call membership we could not read; it counts until `until`. */
  note(slotKey: string, until: EpochMs): void {
    (this.bySlot ??= new Map()).set(slotKey, until);
  }

  /** The slot's latest event was read: whatever it held before no longer counts. */
  clear(slotKey: string): void {
    this.bySlot?.delete(slotKey);
  }

  /** Whether any unread membership may still count at `now`. */
  any(now: EpochMs): boolean {
    if (this.encrypted.any(now)) return true;
    if (this.bySlot === null) return false;
    for (const [key, until] of this.bySlot) {
      if (now < until) return true;
      this.bySlot.delete(key);
    }
    return false;
  }
}
