// Turns the member change stream into user and call session events (MSC4143 historic sessions), incrementally.
import type { LeaveCause, MemberChange } from "../membership/changes";
import { KEY_SEP } from "../membership/keys";
import type { RtcMember } from "../membership/model";
import type { EpochMs } from "../time";
import { CallSessionTracker, type RestoredCall } from "./call-sessions";
import { userSessionId } from "./ids";
import type { DeviceCall, SessionEvent, UserLeaveReason, UserSession } from "./types";

/** Caller's knowledge about a change: the app knows when a leave was its own clear, and why it cleared. */
export interface ChangeNote {
  readonly leaveReason?: UserLeaveReason;
}

const NO_EVENTS: readonly SessionEvent[] = Object.freeze([]);

/**
 * An open user session as the tracker keeps it, one per tracked member: no id (the member key and join event id
 * make it) and no leave fields (all null while open). The `UserSession` is built when one is handed out.
 */
interface OpenSession extends DeviceCall {
  readonly joinedAt: EpochMs;
  readonly joinEventId: string;
  readonly joinedBeforeTracking: boolean;
}

/** The open session's fields alone, listed one by one (a row read back from the store has more). */
function openSession(session: OpenSession): OpenSession {
  return {
    memberKey: session.memberKey,
    roomId: session.roomId,
    userId: session.userId,
    deviceId: session.deviceId,
    application: session.application,
    callId: session.callId,
    joinedAt: session.joinedAt,
    joinEventId: session.joinEventId,
    joinedBeforeTracking: session.joinedBeforeTracking,
  };
}

/** The user session of an open one. */
function userSessionOf(open: OpenSession): UserSession {
  return {
    id: userSessionId(open.memberKey, open.joinEventId),
    ...open,
    leftAt: null,
    leaveReason: null,
    leaveEventId: null,
  };
}

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
  private readonly open = new Map<string, OpenSession>();
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
    const open: OpenSession = {
      memberKey: member.key,
      roomId: member.roomId,
      userId: member.userId,
      deviceId: member.deviceId,
      application: member.application,
      callId: member.callId,
      joinedAt: resync ? Math.min(member.createdTs, at) : at,
      joinEventId: member.source.eventId,
      joinedBeforeTracking: resync,
    };
    this.open.set(member.key, open);
    const session = userSessionOf(open);
    events.push({ kind: "user-session-opened", session });
    const { call, started } = this.calls.open(session);
    events.push({ kind: started ? "call-session-started" : "call-session-updated", call });
    return events;
  }

  private leave(key: string, at: EpochMs, reason: UserLeaveReason, eventId: string | null): SessionEvent[] {
    const open = this.open.get(key);
    if (open === undefined) return [];
    this.open.delete(key);
    const current = userSessionOf(open);
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
      const open = openSession(session);
      this.open.set(session.memberKey, open);
      this.calls.open(userSessionOf(open), false);
    }
  }

  /**
   * The call session a user session belongs to: for open sessions, and for those closed by the latest `apply`
   * (so that the events it returned can be persisted with their call); null otherwise.
   */
  callIdOf(sessionId: string): string | null {
    const recent = this.recentlyClosed.get(sessionId);
    if (recent !== undefined) return recent;
    const memberKey = sessionId.slice(0, sessionId.lastIndexOf(KEY_SEP));
    const open = this.open.get(memberKey);
    return open !== undefined && userSessionId(memberKey, open.joinEventId) === sessionId
      ? this.calls.idOf(open)
      : null;
  }

  /** The open user session of a member key, if any. */
  sessionOf(memberKey: string): UserSession | undefined {
    const open = this.open.get(memberKey);
    return open === undefined ? undefined : userSessionOf(open);
  }

  openUserSessions(): UserSession[] {
    return [...this.open.values()].map(userSessionOf);
  }

  openCallSessions(): ReturnType<CallSessionTracker["openCalls"]> {
    return this.calls.openCalls();
  }

  get openCount(): number {
    return this.open.size;
  }
}
