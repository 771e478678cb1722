// What one LiveKit deployment says about who is connected, reduced from webhooks and polls, keyed by sid.
import type { DurationMs, EpochMs } from "../time";
import type { DeploymentStatus, SfuPresence, SfuSignal, SfuView } from "./presence-types";

export type { DeploymentStatus, ParticipantState, SfuPresence, SfuSignal, SfuView } from "./presence-types";

interface SidRecord {
  readonly sid: string;
  readonly room: string;
  readonly identity: string;
  state: "pending" | "connected" | "gone";
  since: EpochMs;
  lastAt: EpochMs;
  reason: string | null;
  /** The previous (older) sid of the same identity: each identity's sids form a short list, newest first. */
  older: SidRecord | null;
  /** The presence last handed out for this sid, reused until its state changes (null: none yet). */
  shown: SfuPresence | null;
  /** Set once `prune` forgot it: the room lists drop such records when they are next rebuilt. */
  pruned: boolean;
}

const NEVER_SEEN: SfuPresence = Object.freeze({ kind: "never-seen" });

/** Ends a sid at `at` (its presence changes, so the one handed out before is dropped). */
function goneAt(rec: SidRecord, at: EpochMs, reason: string | null): void {
  rec.state = "gone";
  rec.since = at;
  rec.lastAt = Math.max(rec.lastAt, at);
  rec.reason = reason;
  rec.shown = null;
}

/**
 * A pure reducer of one LiveKit deployment's signals. Presence is keyed by participant sid: a rejoin with the
 * same identity gets a new sid, and LiveKit then ends the old one with `DUPLICATE_IDENTITY`, which must not
 * hide the new connection. A sid never comes back once gone. Snapshots are authoritative for their room at
 * their time, but never override newer signals about a sid.
 */
export class SfuPresenceTracker {
  private readonly sids = new Map<string, SidRecord>();
  /** Identity → its newest sid; older ones follow `older` (few: one per connection attempt). */
  private readonly byIdentity = new Map<string, SidRecord>();
  private readonly byRoom = new Map<string, SidRecord[]>();
  private current: DeploymentStatus;

  constructor(trackingSince: EpochMs) {
    this.current = {
      available: true,
      trackingSince,
      resumedAt: null,
      lastSuccessfulPollAt: null,
      unavailableReason: null,
    };
  }

  get status(): DeploymentStatus {
    return this.current;
  }

  get size(): number {
    return this.sids.size;
  }

  apply(signal: SfuSignal): void {
    switch (signal.kind) {
      case "joined":
        this.connect(signal.room, signal.identity, signal.sid, signal.at);
        return;
      case "left":
        this.end(signal.room, signal.identity, signal.sid, signal.at, signal.reason ?? null);
        return;
      case "aborted":
        this.end(signal.room, signal.identity, signal.sid, signal.at, signal.reason ?? "CONNECTION_ABORTED");
        return;
      case "snapshot":
        this.snapshot(signal.room, signal.at, signal.participants);
        return;
      case "room-finished":
        this.endRoom(signal.room, signal.at, "ROOM_FINISHED", null);
        return;
      case "poll-ok": {
        const resumed = !this.current.available;
        this.current = {
          available: true,
          trackingSince: resumed ? signal.at : this.current.trackingSince,
          // The first good poll after start is no comeback: nothing was known before it.
          resumedAt:
            resumed && this.current.lastSuccessfulPollAt !== null ? signal.at : this.current.resumedAt,
          lastSuccessfulPollAt: Math.max(signal.at, this.current.lastSuccessfulPollAt ?? signal.at),
          unavailableReason: null,
        };
        return;
      }
      case "poll-failed":
        this.current = { ...this.current, available: false, unavailableReason: signal.reason };
        return;
      case "incident":
        // Absence from before the incident says nothing about who will be back: tracking restarts now.
        this.current = { ...this.current, trackingSince: signal.at, resumedAt: signal.at };
        return;
    }
  }

  private record(room: string, identity: string, sid: string, at: EpochMs): SidRecord {
    let rec = this.sids.get(sid);
    if (rec !== undefined) return rec;
    const older = this.byIdentity.get(identity) ?? null;
    rec = {
      sid,
      room,
      identity,
      state: "pending",
      since: at,
      lastAt: Number.NEGATIVE_INFINITY,
      reason: null,
      older,
      shown: null,
      pruned: false,
    };
    this.sids.set(sid, rec);
    this.byIdentity.set(identity, rec);
    const inRoom = this.byRoom.get(room);
    if (inRoom === undefined) this.byRoom.set(room, [rec]);
    else inRoom.push(rec);
    return rec;
  }

  private connect(room: string, identity: string, sid: string, at: EpochMs): void {
    const rec = this.record(room, identity, sid, at);
    if (rec.state === "gone" || rec.lastAt > at) return;
    if (rec.state !== "connected") {
      rec.since = at;
      // Only pending sids get here (a gone one never comes back): none was handed out as a presence yet.
      rec.state = "connected";
      this.supersede(rec, at);
    }
    rec.lastAt = at;
  }

  /**
   * LiveKit keeps one participant per identity and room: a newer connection ends older ones (it sends their
   * `participant_left` with DUPLICATE_IDENTITY, possibly later or never if the webhook is lost).
   */
  private supersede(rec: SidRecord, at: EpochMs): void {
    for (let other = this.byIdentity.get(rec.identity) ?? null; other !== null; other = other.older) {
      if (other === rec || other.room !== rec.room || other.state !== "connected" || other.since > at)
        continue;
      goneAt(other, at, "DUPLICATE_IDENTITY");
    }
  }

  private end(room: string, identity: string, sid: string, at: EpochMs, reason: string | null): void {
    const rec = this.record(room, identity, sid, at);
    if (rec.state !== "gone") goneAt(rec, at, reason);
  }

  private endRoom(room: string, at: EpochMs, reason: string, keep: ReadonlySet<string> | null): void {
    const inRoom = this.byRoom.get(room);
    if (inRoom === undefined) return;
    for (const rec of inRoom) {
      if (rec.state === "gone" || rec.lastAt > at || keep?.has(rec.sid) === true) continue;
      goneAt(rec, at, reason);
    }
  }

  private snapshot(
    room: string,
    at: EpochMs,
    participants: Extract<SfuSignal, { kind: "snapshot" }>["participants"],
  ): void {
    const listed = new Set<string>();
    for (const p of participants) {
      listed.add(p.sid);
      const rec = this.record(room, p.identity, p.sid, at);
      if (rec.state === "gone" || rec.lastAt > at) continue;
      if (p.state === "active") {
        this.connect(room, p.identity, p.sid, at);
      } else if (p.state === "disconnected") {
        this.end(room, p.identity, p.sid, at, "DISCONNECTED");
      } else if (rec.state === "pending") {
        rec.lastAt = at;
      }
    }
    this.endRoom(room, at, "ABSENT_FROM_SNAPSHOT", listed);
  }

  /**
   * The best evidence about any of the room/identity candidate pairs: a connected sid wins (the first found,
   * trying identities in order), else the most recently gone one, else never seen. Pending sids (joining, not
   * yet ACTIVE) count as not seen.
   */
  presenceOf(rooms: readonly string[], identities: readonly string[]): SfuPresence {
    let gone: SidRecord | null = null;
    for (const identity of identities) {
      for (let rec = this.byIdentity.get(identity) ?? null; rec !== null; rec = rec.older) {
        if (rec.state === "pending" || !rooms.includes(rec.room)) continue;
        if (rec.state === "connected")
          return (rec.shown ??= { kind: "connected", since: rec.since, sid: rec.sid, room: rec.room });
        if (gone === null || rec.since > gone.since) gone = rec;
      }
    }
    if (gone !== null)
      return (gone.shown ??= {
        kind: "gone",
        since: gone.since,
        sid: gone.sid,
        room: gone.room,
        reason: gone.reason,
      });
    return NEVER_SEEN;
  }

  /** The verdict's view of one member on this deployment; stale when the last good poll is older than `staleAfterMs`. */
  viewOf(
    rooms: readonly string[],
    identities: readonly string[],
    now: EpochMs,
    staleAfterMs: DurationMs,
  ): SfuView {
    const status = this.current;
    if (!status.available) return { kind: "unavailable", reason: status.unavailableReason ?? "unavailable" };
    const lastOk = status.lastSuccessfulPollAt;
    if (lastOk === null || now - lastOk > staleAfterMs) return { kind: "stale", lastOkAt: lastOk };
    return {
      kind: "observed",
      presence: this.presenceOf(rooms, identities),
      trackingSince: status.trackingSince,
      resumedAt: status.resumedAt,
    };
  }

  /** Rooms with at least one connected participant (e.g. to notice rooms that vanished from `listRooms`). */
  roomsWithConnected(): string[] {
    const out: string[] = [];
    for (const [room, recs] of this.byRoom) if (recs.some((rec) => rec.state === "connected")) out.push(room);
    return out;
  }

  /** Every connected participant (e.g. for reports of SFU participants that no membership explains). */
  connectedParticipants(): { room: string; identity: string; sid: string; since: EpochMs }[] {
    const out: { room: string; identity: string; sid: string; since: EpochMs }[] = [];
    for (const rec of this.sids.values()) {
      if (rec.state === "connected")
        out.push({ room: rec.room, identity: rec.identity, sid: rec.sid, since: rec.since });
    }
    return out;
  }

  /** Removes a record from its identity's list. */
  private unlink(rec: SidRecord): void {
    const head = this.byIdentity.get(rec.identity);
    if (head === rec) {
      if (rec.older === null) this.byIdentity.delete(rec.identity);
      else this.byIdentity.set(rec.identity, rec.older);
      return;
    }
    for (let prev = head ?? null; prev !== null; prev = prev.older) {
      if (prev.older === rec) {
        prev.older = rec.older;
        return;
      }
    }
  }

  /** Forgets sids gone (or pending without news) for longer than `retentionMs`; returns how many. */
  prune(now: EpochMs, retentionMs: DurationMs): number {
    const horizon = now - retentionMs;
    const touched = new Set<string>();
    let removed = 0;
    for (const rec of this.sids.values()) {
      if (rec.state === "connected") continue;
      if ((rec.state === "gone" ? rec.since : Math.max(rec.since, rec.lastAt)) >= horizon) continue;
      this.sids.delete(rec.sid);
      this.unlink(rec);
      rec.pruned = true;
      touched.add(rec.room);
      removed++;
    }
    for (const room of touched) {
      const kept = (this.byRoom.get(room) ?? []).filter((rec) => !rec.pruned);
      if (kept.length === 0) this.byRoom.delete(room);
      else this.byRoom.set(room, kept);
    }
    return removed;
  }
}
