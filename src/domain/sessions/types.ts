// MSC4143 "historic sessions": user sessions (one device's join → leave) and call sessions (their overlap).
import type { EpochMs } from "../time";

/**
 * Why a user session ended: the member left (`left`), its MSC4143 delayed leave fired (`delayed_leave_fired`,
 * from `leave_reason.code: delayed_leave`), it was replaced by a new session of the same device, the user
 * left the room, or the reconciler decided (`expired`, `left_sfu`, `connection_lost` — LiveKit timed it out —,
 * `never_connected`) and cleared it
 * (`cleared`: the caller passes these, since only the app knows a leave was its own clear).
 */
export type UserLeaveReason =
  | "left"
  | "expired"
  | "left_sfu"
  | "connection_lost"
  | "never_connected"
  | "left_room"
  | "replaced"
  | "cleared"
  | "delayed_leave_fired";

/** Which device of which user is in which call of which room: what memberships, sessions and rows share. */
export interface DeviceCall {
  readonly memberKey: string;
  readonly roomId: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly application: string;
  readonly callId: string;
}

/** One device's membership of one call (application + call id) from join to leave (MSC4143). */
export interface UserSession extends DeviceCall {
  /** The member key and the join event id: unique per join. */
  readonly id: string;
  readonly joinedAt: EpochMs;
  readonly leftAt: EpochMs | null;
  readonly leaveReason: UserLeaveReason | null;
  readonly joinEventId: string;
  readonly leaveEventId: string | null;
  /** The join was found by a resync of state that predates our tracking: `joinedAt` is then the member's `createdTs`. */
  readonly joinedBeforeTracking: boolean;
}

/**
 * All overlapping user sessions of one room + application + call id (MSC4143 "session"): starts with the
 * first user session, ends when the last one closes.
 * - `peakConcurrency`: the most distinct *users* in the call at once (a user on two devices counts once);
 * - `distinctParticipants`: distinct user ids over the whole call, so `peakConcurrency ≤ distinctParticipants`;
 * - `peakDevices`: the most user sessions (devices) open at once, `peakDevices ≤ userSessions`.
 * Instants are clamped so that `endedAt ≥ startedAt` despite skewed remote clocks.
 */
export interface CallSession {
  readonly id: string;
  readonly roomId: string;
  readonly application: string;
  readonly callId: string;
  readonly startedAt: EpochMs;
  readonly endedAt: EpochMs | null;
  readonly peakConcurrency: number;
  readonly distinctParticipants: number;
  readonly peakDevices: number;
  /** How many user sessions the call has had. */
  readonly userSessions: number;
  /** The leave reason of the user session whose close ended the call. */
  readonly endReason: UserLeaveReason | null;
}

/** What the trackers report, for the app to persist (each carries a snapshot of the session). */
export type SessionEvent =
  | { readonly kind: "user-session-opened"; readonly session: UserSession }
  | { readonly kind: "user-session-closed"; readonly session: UserSession }
  | { readonly kind: "call-session-started"; readonly call: CallSession }
  | { readonly kind: "call-session-updated"; readonly call: CallSession }
  | { readonly kind: "call-session-ended"; readonly call: CallSession };
