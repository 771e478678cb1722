// Maps domain sessions (MSC4143 historic sessions) to store rows, and names what kind of call a session was.
import type { CallSession, UserLeaveReason, UserSession } from "../../domain/sessions/types";
import type { CallKind, CallSessionRow, UserSessionRow } from "../ports/store";

/** Leave reasons that mean this service ended the membership. */
export const CLEARED_REASONS: ReadonlySet<UserLeaveReason> = new Set([
  "cleared",
  "expired",
  "left_sfu",
  "connection_lost",
  "never_connected",
]);

/**
 * answered: two or more people were in it at once; cleared: nobody joined and it ended with our clearing a
 * ghost (a crashed caller); unanswered: nobody joined the caller, who left by themselves.
 */
export function callKind(call: CallSession): CallKind | null {
  if (call.endedAt === null) return null;
  if (call.peakConcurrency >= 2) return "answered";
  return call.endReason !== null && CLEARED_REASONS.has(call.endReason) ? "cleared" : "unanswered";
}

export function callRow(call: CallSession): CallSessionRow {
  return {
    id: call.id,
    roomId: call.roomId,
    application: call.application,
    callId: call.callId,
    startedAt: call.startedAt,
    endedAt: call.endedAt,
    peakConcurrency: call.peakConcurrency,
    distinctParticipants: call.distinctParticipants,
    endReason: call.endReason,
    kind: callKind(call),
  };
}

export function userRow(s: UserSession, receivedAt: number, callSessionId: string | null): UserSessionRow {
  return {
    id: s.id,
    callSessionId,
    memberKey: s.memberKey,
    roomId: s.roomId,
    userId: s.userId,
    deviceId: s.deviceId,
    application: s.application,
    callId: s.callId,
    joinedAt: s.joinedAt,
    // Only the first write of a session sets this (the store keeps it on later upserts).
    joinedReceivedAt: receivedAt,
    leftAt: s.leftAt,
    leftReceivedAt: s.leftAt === null ? null : receivedAt,
    leaveReason: s.leaveReason,
    joinEventId: s.joinEventId,
    leaveEventId: s.leaveEventId,
    joinedBeforeTracking: s.joinedBeforeTracking,
  };
}
