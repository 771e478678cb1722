// Sessions of the followed calls: who joined when (first sightings), the session tracker, and their rows.
import type { MemberChange } from "../../domain/membership/changes";
import type { RtcMember } from "../../domain/membership/model";
import { SessionTracker } from "../../domain/sessions/tracker";
import type { SessionEvent } from "../../domain/sessions/types";
import type { EpochMs } from "../../domain/time";
import type { Store } from "../ports/store";
import { OurLeaves } from "./our-leaves";
import type { PendingRows } from "./pending-rows";
import { callRow, userRow } from "./session-rows";

export interface SessionRecordsDeps {
  readonly store: Store;
  /** Where changed rows wait for their batch (`CallState.flush`). */
  readonly pending: PendingRows;
  /** Whether a member is still held by its slot (its first sighting is then worth keeping). */
  readonly held: (member: { readonly roomId: string; readonly key: string }) => boolean;
}

/**
 * Turns membership changes into user and call sessions, with the reason of a leave we wrote (`OurLeaves`), and
 * keeps when each member was first seen (our clock): the wait before "never connected" counts from it.
 */
export class SessionRecords {
  private readonly firstSeen = new Map<string, EpochMs>();
  private readonly sessions = new SessionTracker();
  /** The leaves the clearer is writing or wrote, matched to the events that come back. */
  readonly ourLeaves = new OurLeaves();

  constructor(private readonly d: SessionRecordsDeps) {}

  firstSeenAt(member: RtcMember): EpochMs {
    return this.firstSeen.get(member.key) ?? member.source.receivedAt;
  }

  openSessionOf(memberKey: string) {
    return this.sessions.sessionOf(memberKey);
  }

  openCalls() {
    return this.sessions.openCallSessions();
  }

  /** Rebuilds the open sessions after a restart (call once the slots are restored, for `held`). */
  restore(): void {
    const open = this.d.store.openUserSessions();
    // A member re-joined with a new membership keeps its first sighting in memory, its new session's after a
    // restart: later or equal, so a restart can only lengthen the wait before a member is judged never connected.
    // Only members the restored slots hold: an open session whose member is gone must not lend its old instant
    // to a later join of the same device (that would shorten the wait).
    for (const s of open)
      if (this.d.held({ roomId: s.roomId, key: s.memberKey }))
        this.firstSeen.set(s.memberKey, s.joinedReceivedAt);
    this.sessions.restore(
      open.map((s) => ({ ...s, leftAt: null, leaveReason: null, leaveEventId: null })),
      this.d.store.openCallSessions(),
    );
  }

  /** Records what the changes did to sessions; their rows wait in the pending rows. */
  record(changes: readonly MemberChange[], receivedAt: EpochMs): SessionEvent[] {
    const events: SessionEvent[] = [];
    for (const change of changes) {
      const member = change.member;
      // Rows are written right after each change: the tracker only knows the call of sessions the latest change closed.
      const before = events.length;
      if (change.kind === "left") {
        const expected = this.ourLeaves.claim(member.key, change.eventId, change.at);
        if (expected === null) events.push(...this.sessions.apply(change));
        else {
          const at = expected.leftAt === null ? change.at : Math.min(change.at, expected.leftAt);
          events.push(...this.sessions.apply({ ...change, at }, { leaveReason: expected.reason }));
        }
        if (!this.d.held(member)) this.firstSeen.delete(member.key);
      } else {
        events.push(...this.sessions.apply(change));
        if (!this.firstSeen.has(member.key)) this.firstSeen.set(member.key, receivedAt);
      }
      this.persist(events.slice(before), receivedAt);
    }
    return events;
  }

  private persist(events: readonly SessionEvent[], receivedAt: EpochMs): void {
    for (const e of events) {
      if (e.kind === "user-session-opened" || e.kind === "user-session-closed") {
        this.d.pending.putUserSession(userRow(e.session, receivedAt, this.sessions.callIdOf(e.session.id)));
      } else {
        this.d.pending.putCallSession(callRow(e.call));
      }
    }
  }
}
