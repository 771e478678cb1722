// Call memberships a room holds that this service could not read, though clients may: while any counts, nobody
// can tell which SFU the room's oldest-membership call is on.
import type { EpochMs } from "../time";
import { MAX_STICKY_DURATION_MS } from "./parse/sticky-envelope";

/**
 * Clients are more lenient than the parsers (js-sdk accepts a negative `created_ts`, any state key, any
 * `membershipID`), and an encrypted sticky membership is unreadable to a server. Such a membership can be the
 * oldest a client sees, and so move the call to an SFU this service never learns of. Each is remembered by its
 * slot until a readable event replaces it (state), or until its stickiness can have ended (sticky, encrypted).
 */
export class UnreadMemberships {
  private readonly bySlot = new Map<string, EpochMs>();
  private encryptedUntil = Number.NEGATIVE_INFINITY;

  /** The slot's latest event was a call membership we could not read; it counts until `until`. */
  note(slotKey: string, until: EpochMs): void {
    this.bySlot.set(slotKey, until);
  }

  /** The slot's latest event was read: whatever it held before no longer counts. */
  clear(slotKey: string): void {
    this.bySlot.delete(slotKey);
  }

  /** An encrypted sticky event arrived at `at`: possibly a membership, sticky for at most an hour. */
  noteEncrypted(at: EpochMs): void {
    this.encryptedUntil = Math.max(this.encryptedUntil, at + MAX_STICKY_DURATION_MS);
  }

  /** Carries the encrypted sightings over to the state a resync builds (they are not room state). */
  carryEncryptedTo(fresh: UnreadMemberships): void {
    fresh.encryptedUntil = Math.max(fresh.encryptedUntil, this.encryptedUntil);
  }

  /** Whether any unread membership may still count at `now`. */
  any(now: EpochMs): boolean {
    if (now < this.encryptedUntil) return true;
    for (const [key, until] of this.bySlot) {
      if (now < until) return true;
      this.bySlot.delete(key);
    }
    return false;
  }
}
