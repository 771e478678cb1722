// The encrypted sticky events a room received (each may be a call membership clients read), and which the bot read.
import type { EpochMs } from "../time";
import { MAX_STICKY_DURATION_MS } from "./parse/sticky-envelope";

/**
 * One entry, as kept across restarts: an unread event (its sender, until when it can count: its stickiness, at
 * most an hour), or one that stands for several — the read ones (`READ_ID`: only their latest end matters), a
 * sender's overflow (past `MAX_PER_SENDER` unread), or the room's (`sender` null, past `MAX_SIGHTINGS` unread).
 */
export interface Sighting {
  readonly eventId: string;
  readonly sender: string | null;
  readonly until: EpochMs;
  readonly read: boolean;
}

/** Unread sightings kept one by one per room, and per sender in a room. */
export const MAX_SIGHTINGS = 256;
export const MAX_PER_SENDER = 32;
/** Ids of the entries that stand for several events (real event ids start with `$`). */
const READ_ID = "read";
const OVERFLOW_ID = "overflow";

/**
 * Two questions depend on them. Which SFU an oldest-membership call chose: every sighting counts while it can,
 * read or not, because Megolm hands each device its key separately and a sender can show the bot's device other
 * content than clients see. And whether a sender's sticky membership may be ended: not while that sender has an
 * unread one, which may be a newer event of the same sticky key (a leave we wrote would end that one too).
 * A lookup for a sender costs at most `MAX_PER_SENDER` steps, whatever the room holds.
 */
export class EncryptedSightings {
  /** Unread events by sender, each by event id with its end (made on first use: most rooms never have one). */
  private unread: Map<string, Map<string, EpochMs>> | null = null;
  private unreadCount = 0;
  private senderOverflow: Map<string, EpochMs> | null = null;
  private roomOverflow: EpochMs = Number.NEGATIVE_INFINITY;
  private readUntil: EpochMs = Number.NEGATIVE_INFINITY;
  /** The latest end of anything kept. */
  private latest: EpochMs = Number.NEGATIVE_INFINITY;

  /**
   * An encrypted sticky event arrived at `at`; returns the entry kept for it (an overflow entry past the bounds:
   * one flooding sender holds up only their own memberships, until the room's bound is reached).
   */
  note(eventId: string, sender: string, at: EpochMs): Sighting {
    const until = at + MAX_STICKY_DURATION_MS;
    const mine = this.unread?.get(sender);
    const known = mine?.get(eventId);
    if (known !== undefined) return { eventId, sender, until: known, read: false };
    this.latest = Math.max(this.latest, until);
    if ((mine?.size ?? 0) >= MAX_PER_SENDER) {
      const overflow = (this.senderOverflow ??= new Map<string, EpochMs>());
      const end = Math.max(overflow.get(sender) ?? until, until);
      overflow.set(sender, end);
      return { eventId: `${OVERFLOW_ID}\u0000${sender}`, sender, until: end, read: false };
    }
    if (this.unreadCount >= MAX_SIGHTINGS) {
      this.roomOverflow = Math.max(this.roomOverflow, until);
      return { eventId: OVERFLOW_ID, sender: null, until: this.roomOverflow, read: false };
    }
    if (mine === undefined) (this.unread ??= new Map()).set(sender, new Map([[eventId, until]]));
    else mine.set(eventId, until);
    this.unreadCount++;
    return { eventId, sender, until, read: false };
  }

  /**
   * The bot's device read the sender's event (a membership now tracked, or no membership): returns the entry
   * that now stands for it among the read ones, or undefined when it was not kept one by one.
   */
  read(eventId: string, sender: string): Sighting | undefined {
    const mine = this.unread?.get(sender);
    const until = mine?.get(eventId);
    if (mine === undefined || until === undefined) return undefined;
    this.dropUnread(sender, eventId);
    this.readUntil = Math.max(this.readUntil, until);
    return { eventId: READ_ID, sender: null, until: this.readUntil, read: true };
  }

  /** Puts back an entry kept across a restart. */
  restore(s: Sighting): void {
    this.latest = Math.max(this.latest, s.until);
    if (s.read) this.readUntil = Math.max(this.readUntil, s.until);
    else if (s.sender === null) this.roomOverflow = Math.max(this.roomOverflow, s.until);
    else if (s.eventId.startsWith(OVERFLOW_ID)) (this.senderOverflow ??= new Map()).set(s.sender, s.until);
    else {
      const unread = (this.unread ??= new Map<string, Map<string, EpochMs>>());
      const mine = unread.get(s.sender) ?? new Map<string, EpochMs>();
      if (!mine.has(s.eventId)) this.unreadCount++;
      mine.set(s.eventId, s.until);
      unread.set(s.sender, mine);
    }
  }

  /** Whether any sighting may still count at `now`. */
  any(now: EpochMs): boolean {
    return now < this.latest;
  }

  /** Until when `sender` has an unread sighting (or the room overflowed); null when none counts at `now`. */
  unreadUntil(sender: string, now: EpochMs): EpochMs | null {
    if (this.latest === Number.NEGATIVE_INFINITY) return null;
    let until = Math.max(this.roomOverflow, this.senderOverflow?.get(sender) ?? Number.NEGATIVE_INFINITY);
    for (const end of this.unread?.get(sender)?.values() ?? []) until = Math.max(until, end);
    return now < until ? until : null;
  }

  /** The earliest instant an entry lapses (+∞ when none is kept): when `lapse` next has something to do. */
  nextLapse(): EpochMs {
    let at = Number.POSITIVE_INFINITY;
    if (this.latest === Number.NEGATIVE_INFINITY) return at;
    for (const s of this.all()) at = Math.min(at, s.until);
    return at;
  }

  /** Removes and returns the entries that can no longer count at `now` (to forget them where they are kept). */
  lapse(now: EpochMs): Sighting[] {
    if (this.latest === Number.NEGATIVE_INFINITY) return [];
    const gone = [...this.all()].filter((s) => now >= s.until);
    for (const s of gone) {
      if (s.read) this.readUntil = Number.NEGATIVE_INFINITY;
      else if (s.sender === null) this.roomOverflow = Number.NEGATIVE_INFINITY;
      else if (s.eventId.startsWith(OVERFLOW_ID)) this.senderOverflow?.delete(s.sender);
      else this.dropUnread(s.sender, s.eventId);
    }
    if (!this.any(now)) this.latest = Number.NEGATIVE_INFINITY;
    return gone;
  }

  /** Every entry (kept across restarts and resyncs: they are not room state). */
  *all(): IterableIterator<Sighting> {
    for (const [sender, mine] of this.unread ?? [])
      for (const [eventId, until] of mine) yield { eventId, sender, until, read: false };
    for (const [sender, until] of this.senderOverflow ?? [])
      yield { eventId: `${OVERFLOW_ID}\u0000${sender}`, sender, until, read: false };
    if (this.roomOverflow !== Number.NEGATIVE_INFINITY)
      yield { eventId: OVERFLOW_ID, sender: null, until: this.roomOverflow, read: false };
    if (this.readUntil !== Number.NEGATIVE_INFINITY)
      yield { eventId: READ_ID, sender: null, until: this.readUntil, read: true };
  }

  private dropUnread(sender: string, eventId: string): void {
    const mine = this.unread?.get(sender);
    if (mine?.delete(eventId) !== true) return;
    this.unreadCount--;
    if (mine.size === 0) this.unread?.delete(sender);
  }
}
