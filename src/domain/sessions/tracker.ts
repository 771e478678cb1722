// Turns the member change stream into user and call session events (MSC4143 historic sessions), incrementally.
import type { LeaveCause, MemberChange } from "../membership/changes";
import { KEY_SEP } from "../membership/keys";
import type { RtcMember } from "../membership/model";
import type { EpochMs } from "../time";
import { CallSessionTracker, type RestoredCall } from "./call-sessions";
import { deviceCallOf, type SessionEvent, type UserLeaveReason, type UserSession } from "./types";

/** Caller's knowledge about a change: the app knows when a leave was its own clear, and why it cleared. */
export interface ChangeNote {
  readonly leaveReason?: UserLeaveReason;
}

const NO_EVENTS: readonly SessionEvent[] = Object.freeze([]);

/** The session leave reason a room-state leave cause maps to (MSC4143 `delayed_leave` when the leave says so). */
export function leaveReasonOf(cause: LeaveCause, leaveCode: string | null): UserLeaveReason {
  switch (cause) {
    case "left":
    case "invalid":
      return leaveCode === "delayed_leave" ? "delayed_leave_fired" : "left";
    case "replaced":
      return "replaced";
    case "left_room":
      return "left_room";
    case "expired":
      return "expired";
  }
}

/**
 * Tracks open user sessions by member key and their call sessions. Feed it every `MemberChange` of a room (in
 * order); it returns the session events to persist. `updated` changes refresh a membership and change nothing.
 */
export class SessionTracker {
  private readonly open = new Map<string, UserSession>();
  private readonly calls = new CallSessionTracker();
  /** User session id → call session id, for the sessions closed by the latest `apply` (their call may be gone). */
  private recentlyClosed = new Map<string, string>();

  apply(change: MemberChange, note: ChangeNote = {}): readonly SessionEvent[] {
    if (this.recentlyClosed.size > 0) this.recentlyClosed = new Map();
    switch (change.kind) {
      case "updated":
        return NO_EVENTS;
      case "joined":
        return this.join(change.member, change.at, change.origin === "resync");
      case "left": {
        const reason = note.leaveReason ?? leaveReasonOf(change.cause, change.leaveCode);
        return this.leave(change.member.key, change.at, reason, change.eventId);
      }
    }
  }

  private join(member: RtcMember, at: EpochMs, resync: boolean): readonly SessionEvent[] {
    const events: SessionEvent[] = [];
    if (this.open.has(member.key))
      events.push(...this.leave(member.key, at, "replaced", member.source.eventId));
    const session: UserSession = {
      id: `${member.key}${KEY_SEP}${member.source.eventId}`,
      ...deviceCallOf(member),
      joinedAt: resync ? Math.min(member.createdTs, at) : at,
      leftAt: null,
      leaveReason: null,
      joinEventId: member.source.eventId,
      leaveEventId: null,
      joinedBeforeTracking: resync,
    };
    this.open.set(member.key, session);
    events.push({ kind: "user-session-opened", session });
    const { call, started } = this.calls.open(session);
    events.push({ kind: started ? "call-session-started" : "call-session-updated", call });
    return events;
  }

  private leave(key: string, at: EpochMs, reason: UserLeaveReason, eventId: string | null): SessionEvent[] {
    const current = this.open.get(key);
    if (current === undefined) return [];
    this.open.delete(key);
    const session: UserSession = {
      ...current,
      leftAt: Math.max(at, current.joinedAt),
      leaveReason: reason,
      leaveEventId: eventId,
    };
    const events: SessionEvent[] = [{ kind: "user-session-closed", session }];
    const callId = this.calls.idOf(session);
    if (callId !== null) this.recentlyClosed.set(session.id, callId);
    const closed = this.calls.close(session);
    if (closed !== null) {
      events.push({ kind: closed.ended ? "call-session-ended" : "call-session-updated", call: closed.call });
    }
    return events;
  }

  /**
   * Rebuilds the tracker after a restart from the persisted open sessions (no events are produced): the calls
   * in progress first, then their open user sessions. A user session whose call is missing starts one.
   */
  restore(userSessions: readonly UserSession[], calls: readonly RestoredCall[]): void {
    for (const call of calls) this.calls.restore(call);
    for (const session of userSessions) {
      if (this.open.has(session.memberKey)) continue;
      this.open.set(session.memberKey, session);
      this.calls.open(session, false);
    }
  }

  /**
   * The call session a user session belongs to: for open sessions, and for those closed by the latest `apply`
   * (so that the events it returned can be persisted with their call); null otherwise.
   */
  callIdOf(userSessionId: string): string | null {
    const recent = this.recentlyClosed.get(userSessionId);
    if (recent !== undefined) return recent;
    const memberKey = userSessionId.slice(0, userSessionId.lastIndexOf(KEY_SEP));
    const session = this.open.get(memberKey);
    return session?.id === userSessionId ? this.calls.idOf(session) : null;
  }

  /** The open user session of a member key, if any. */
  sessionOf(memberKey: string): UserSession | undefined {
    return this.open.get(memberKey);
  }

  openUserSessions(): UserSession[] {
    return [...this.open.values()];
  }

  openCallSessions(): ReturnType<CallSessionTracker["openCalls"]> {
    return this.calls.openCalls();
  }

  get openCount(): number {
    return this.open.size;
  }
}
