// The encrypted sticky events a room received (each may be a call membership clients read), and which the bot read.
import type { EpochMs } from "../time";
import { MAX_STICKY_DURATION_MS } from "./parse/sticky-envelope";

/**
 * One encrypted sticky event: who sent it, until when it can count (its stickiness, at most an hour), and whether
 * the bot's device read it. Past the bounds, one overflow entry stands for the rest: a sender's own (past
 * `MAX_PER_SENDER`: that sender counts as having an unread one until it lapses), or the room's, with `sender` null
 * (past `MAX_SIGHTINGS`: every sender does).
 */
export interface Sighting {
  readonly eventId: string;
  readonly sender: string | null;
  readonly until: EpochMs;
  readonly read: boolean;
}

/** Sightings kept one by one per room, and per sender in a room. */
export const MAX_SIGHTINGS = 256;
export const MAX_PER_SENDER = 32;
/** Event ids of overflow entries start with this (real event ids start with `$`). */
const OVERFLOW_ID = "overflow";

/**
 * Two questions depend on them. Which SFU an oldest-membership call chose: every sighting counts while it can,
 * read or not, because Megolm hands each device its key separately and a sender can show the bot's device other
 * content than clients see. And whether a sender's sticky membership may be ended: not while that sender has an
 * unread one, which may be a newer event of the same sticky key (a leave we wrote would end that one too).
 */
export class EncryptedSightings {
  private readonly byId = new Map<string, Sighting>();
  private readonly perSender = new Map<string, number>();

  /**
   * An encrypted sticky event arrived at `at`; returns the sighting kept for it (an overflow entry past the
   * bounds: one flooding sender holds up only their own memberships, until the room's bound is reached).
   */
  note(eventId: string, sender: string, at: EpochMs): Sighting {
    const until = at + MAX_STICKY_DURATION_MS;
    const known = this.byId.get(eventId);
    if (known !== undefined) return known;
    if (this.byId.size >= MAX_SIGHTINGS) return this.overflow(OVERFLOW_ID, null, until);
    if ((this.perSender.get(sender) ?? 0) >= MAX_PER_SENDER)
      return this.overflow(`${OVERFLOW_ID}\u0000${sender}`, sender, until);
    return this.put({ eventId, sender, until, read: false });
  }

  /** The bot's device read the event (a membership now tracked, or no membership); undefined when not kept. */
  read(eventId: string): Sighting | undefined {
    const known = this.byId.get(eventId);
    if (known === undefined || known.read || eventId.startsWith(OVERFLOW_ID)) return undefined;
    return this.put({ ...known, read: true });
  }

  /** Puts back a sighting kept across a restart. */
  restore(s: Sighting): void {
    this.put(s);
  }

  /** Whether any sighting may still count at `now`. */
  any(now: EpochMs): boolean {
    for (const s of this.byId.values()) if (now < s.until) return true;
    return false;
  }

  /** Until when `sender` has an unread sighting (or the room overflowed); null when none counts at `now`. */
  unreadUntil(sender: string, now: EpochMs): EpochMs | null {
    let until: EpochMs | null = null;
    for (const s of this.byId.values()) {
      if (s.read || now >= s.until || (s.sender !== null && s.sender !== sender)) continue;
      until = until === null ? s.until : Math.max(until, s.until);
    }
    return until;
  }

  /** Removes and returns the sightings that can no longer count at `now`. */
  lapse(now: EpochMs): Sighting[] {
    const gone: Sighting[] = [];
    for (const s of this.byId.values()) if (now >= s.until) gone.push(s);
    for (const s of gone) this.remove(s);
    return gone;
  }

  /** Every sighting (a resync carries them over: they are not room state). */
  all(): IterableIterator<Sighting> {
    return this.byId.values();
  }

  /** Extends (or starts) an overflow entry to `until`. */
  private overflow(eventId: string, sender: string | null, until: EpochMs): Sighting {
    const before = this.byId.get(eventId)?.until ?? until;
    return this.put({ eventId, sender, until: Math.max(before, until), read: false });
  }

  private put(s: Sighting): Sighting {
    const isNew = !this.byId.has(s.eventId);
    this.byId.set(s.eventId, s);
    if (isNew && s.sender !== null) this.perSender.set(s.sender, (this.perSender.get(s.sender) ?? 0) + 1);
    return s;
  }

  private remove(s: Sighting): void {
    this.byId.delete(s.eventId);
    if (s.sender === null) return;
    const left = (this.perSender.get(s.sender) ?? 1) - 1;
    if (left > 0) this.perSender.set(s.sender, left);
    else this.perSender.delete(s.sender);
  }
}
