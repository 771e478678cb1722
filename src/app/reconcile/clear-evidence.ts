// What a clear's evidence says about the ghost: when it really went, since when it was one, why its session ended.
import type { ClearMethod } from "../../domain/clearing/plan";
import type { UserLeaveReason } from "../../domain/sessions/types";
import type { ClearCause } from "./clearer";
import type { Judged } from "./judge";

/** What this clear was about, for the session's leave reason. */
export function leaveReasonFor(j: Judged, method: ClearMethod, cause: ClearCause): UserLeaveReason {
  if (method === "delayed_leave") return "delayed_leave_fired";
  if (cause.kind === "command" || j.verdict.kind !== "ghost") return "cleared";
  if (j.verdict.reason === "not_joined") return "left_room";
  if (j.verdict.reason === "left_sfu" && j.verdict.evidence.leaveKind === "unreachable")
    return "connection_lost";
  return j.verdict.reason;
}

/** When a ghost really went, as its verdict says (LiveKit lost it, or its membership expired). */
export function ghostWentAt(j: Judged): number | null {
  return j.verdict.kind === "ghost" ? j.verdict.wentAt : null;
}

/** Since when the member has been a ghost, for its lifetime figure (`now` when the evidence says nothing). */
export function ghostLifetimeStart(j: Judged, now: number): number {
  const e = j.verdict.evidence;
  if (e.goneSince !== undefined) return e.goneSince;
  if (j.verdict.kind === "ghost" && j.verdict.reason === "expired" && e.expiresAt !== null)
    return e.expiresAt;
  if (e.waitingSince !== undefined && e.graceMs !== undefined) return e.waitingSince;
  return j.ghostSince ?? now;
}
