// How long a member gone from the SFU keeps its membership before it counts as a ghost, by how LiveKit says it went.
import type { DurationMs } from "./time";

/**
 * LiveKit `DisconnectReason`s (livekit.md) that mean the participant was unreachable for a while: LiveKit
 * sends `CONNECTION_TIMEOUT` only after ~15–20 s without a signal ping or ICE. Such a member is gone; waiting
 * longer protects nothing its own delayed leave would not already have ended.
 */
const UNREACHABLE: ReadonlySet<string> = new Set(["CONNECTION_TIMEOUT"]);

/** What a leave grace depends on. */
export interface LeaveGracePolicy {
  /** Absence found by a poll (no reason), or a reason that says nothing about reachability. */
  readonly sfuLeaveGraceMs: DurationMs;
  /** `CLIENT_INITIATED`: the client hung up on purpose and is probably sending its own Matrix leave. */
  readonly clientLeaveGraceMs: DurationMs;
}

/** Which rule a leave falls under, for the evidence and the session's leave reason. */
export type LeaveKind = "unreachable" | "client_left" | "other";

export function leaveKindOf(reason: string | null): LeaveKind {
  if (reason === null) return "other";
  if (UNREACHABLE.has(reason)) return "unreachable";
  return reason === "CLIENT_INITIATED" ? "client_left" : "other";
}

/** The grace after a leave of this kind (an SFU outage or incident is handled apart: see `judgeMember`). */
export function leaveGraceMs(kind: LeaveKind, policy: LeaveGracePolicy): DurationMs {
  switch (kind) {
    case "unreachable":
      return 0;
    case "client_left":
      return policy.clientLeaveGraceMs;
    case "other":
      return policy.sfuLeaveGraceMs;
  }
}
