// Call sessions: overlapping user sessions of one room + application + call id, built incrementally.
import { SmallMap } from "../small-map";
import type { EpochMs } from "../time";
import { callSessionId } from "./ids";
import type { CallSession, UserLeaveReason, UserSession } from "./types";

/** The user session that started a call here: the call's id is made of its member key and join event id. */
type StartedBy = Pick<UserSession, "memberKey" | "joinEventId">;

/** A call in progress. Kept small: a big deployment has one per room with an ongoing call. */
interface OpenCall {
  /**
   * The id as persisted for a call restored after a restart, else the user session that started it: its id is
   * built when asked (`idOf`), rather than kept as a string of about 150 bytes per call.
   */
  readonly id: string | StartedBy;
  readonly roomId: string;
  readonly application: string;
  readonly callId: string;
  startedAt: EpochMs;
  latestLeftAt: EpochMs;
  peakConcurrency: number;
  peakDevices: number;
  userSessions: number;
  openSessions: number;
  concurrentUsers: number;
  /** Every user of the call → how many of their user sessions are open now (0 once they left). */
  readonly users: SmallMap<number>;
  /** Participants counted before a restart whose sessions had already closed (not in `users`). */
  distinctOffset: number;
}

/** A call in progress as persisted, to rebuild the tracker after a restart. */
export interface RestoredCall {
  readonly id: string;
  readonly roomId: string;
  readonly application: string;
  readonly callId: string;
  readonly startedAt: EpochMs;
  readonly peakConcurrency: number;
  readonly distinctParticipants: number;
  readonly peakDevices?: number;
  readonly userSessions?: number;
}

function idOf(call: OpenCall): string {
  const id = call.id;
  return typeof id === "string" ? id : callSessionId(id.memberKey, id.joinEventId);
}

function snapshot(call: OpenCall, endedAt: EpochMs | null, endReason: UserLeaveReason | null): CallSession {
  return {
    id: idOf(call),
    roomId: call.roomId,
    application: call.application,
    callId: call.callId,
    startedAt: call.startedAt,
    endedAt,
    peakConcurrency: call.peakConcurrency,
    distinctParticipants: call.users.size + call.distinctOffset,
    peakDevices: call.peakDevices,
    userSessions: call.userSessions,
    endReason,
  };
}

/**
 * Groups user sessions into call sessions (MSC4143 "historic sessions"): see `CallSession` for the counts.
 * The caller (`SessionTracker`) opens and closes each user session exactly once.
 */
export class CallSessionTracker {
  /** Room id → its calls in progress (almost always one). */
  private readonly calls = new Map<string, readonly OpenCall[]>();
  private count = 0;

  private find(session: Pick<UserSession, "roomId" | "application" | "callId">): OpenCall | undefined {
    return this.calls
      .get(session.roomId)
      ?.find((c) => c.application === session.application && c.callId === session.callId);
  }

  private add(call: OpenCall): void {
    const inRoom = this.calls.get(call.roomId);
    this.calls.set(call.roomId, inRoom === undefined ? [call] : inRoom.concat([call]));
    this.count++;
  }

  /** The id of the call in progress that a user session of this room, application and call id belongs to. */
  idOf(session: Pick<UserSession, "roomId" | "application" | "callId">): string | null {
    const call = this.find(session);
    return call === undefined ? null : idOf(call);
  }

  /**
   * Re-creates a persisted call in progress (no events). Its open user sessions are then re-added with
   * `open(session, false)`; participants who had left before the restart stay counted in `distinctParticipants`
   * (one who comes back is counted again: the persisted count does not say who they were).
   */
  restore(row: RestoredCall): void {
    if (this.find(row) !== undefined) return;
    this.add({
      id: row.id,
      roomId: row.roomId,
      application: row.application,
      callId: row.callId,
      startedAt: row.startedAt,
      latestLeftAt: row.startedAt,
      peakConcurrency: row.peakConcurrency,
      peakDevices: row.peakDevices ?? 0,
      userSessions: row.userSessions ?? 0,
      openSessions: 0,
      concurrentUsers: 0,
      users: new SmallMap(),
      distinctOffset: row.distinctParticipants,
    });
  }

  /**
   * Adds an opened user session; returns the call (started or updated) and whether it started. `fresh` is false
   * when re-adding a session that was already counted before a restart.
   */
  open(session: UserSession, fresh = true): { readonly call: CallSession; readonly started: boolean } {
    let call = this.find(session);
    const started = call === undefined;
    if (call === undefined) {
      call = {
        id: { memberKey: session.memberKey, joinEventId: session.joinEventId },
        roomId: session.roomId,
        application: session.application,
        callId: session.callId,
        startedAt: session.joinedAt,
        latestLeftAt: session.joinedAt,
        peakConcurrency: 0,
        peakDevices: 0,
        userSessions: 0,
        openSessions: 0,
        concurrentUsers: 0,
        users: new SmallMap(),
        distinctOffset: 0,
      };
      this.add(call);
    }
    call.startedAt = Math.min(call.startedAt, session.joinedAt);
    const known = call.users.has(session.userId);
    const open = call.users.get(session.userId) ?? 0;
    call.users.set(session.userId, open + 1);
    if (!fresh && !known && call.distinctOffset > 0) call.distinctOffset--;
    if (open === 0) call.concurrentUsers++;
    call.openSessions++;
    if (fresh || call.userSessions < call.openSessions) call.userSessions++;
    call.peakConcurrency = Math.max(call.peakConcurrency, call.concurrentUsers);
    call.peakDevices = Math.max(call.peakDevices, call.openSessions);
    return { call: snapshot(call, null, null), started };
  }

  /** Removes a closed user session; returns the call (updated, or ended when it was the last) or null if unknown. */
  close(session: UserSession): { readonly call: CallSession; readonly ended: boolean } | null {
    const call = this.find(session);
    const open = call?.users.get(session.userId);
    if (call === undefined || open === undefined || open === 0) return null;
    call.users.set(session.userId, open - 1);
    if (open === 1) call.concurrentUsers--;
    call.openSessions--;
    call.latestLeftAt = Math.max(call.latestLeftAt, session.leftAt ?? call.startedAt);
    if (call.openSessions > 0) return { call: snapshot(call, null, null), ended: false };
    const rest = (this.calls.get(session.roomId) ?? []).filter((c) => c !== call);
    if (rest.length === 0) this.calls.delete(session.roomId);
    else this.calls.set(session.roomId, rest);
    this.count--;
    return {
      call: snapshot(call, Math.max(call.latestLeftAt, call.startedAt), session.leaveReason),
      ended: true,
    };
  }

  /** The calls in progress. */
  openCalls(): CallSession[] {
    return [...this.calls.values()].flat().map((call) => snapshot(call, null, null));
  }

  get size(): number {
    return this.count;
  }
}
