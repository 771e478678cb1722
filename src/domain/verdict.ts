// Is a call member alive, a ghost (and why), or unknown? A pure function of the member, the SFU view and now.
import { effectiveExpiry } from "./membership/expiry";
import type { ExpiryPolicy, RtcMember } from "./membership/model";
import { type LeaveGracePolicy, type LeaveKind, leaveGraceMs, leaveKindOf } from "./leave-grace";
import type { SfuPresence, SfuView } from "./sfu/presence";
import type { DurationMs, EpochMs } from "./time";

export type { SfuView } from "./sfu/presence";

/** Tunables of the verdict. The leave graces (by how LiveKit says a participant went) are in `leave-grace.ts`. */
export interface VerdictPolicy extends LeaveGracePolicy {
  /** How long a member may take to connect to the SFU before it counts as never connected. */
  readonly connectGraceMs: DurationMs;
  readonly expiry: ExpiryPolicy;
}

export const DEFAULT_VERDICT_POLICY: VerdictPolicy = Object.freeze({
  sfuLeaveGraceMs: 5_000,
  clientLeaveGraceMs: 2_000,
  connectGraceMs: 60_000,
  expiry: Object.freeze({ maxAgeWithoutExpiry: null }),
});

export interface VerdictContext {
  readonly now: EpochMs;
  /** The user's `m.room.member` is `join` (true), something else (false), or unknown. */
  readonly userJoined: boolean | "unknown";
  readonly sfu: SfuView;
  /** When this service first saw this member key. */
  readonly firstSeenAt: EpochMs;
  readonly policy: VerdictPolicy;
  /**
   * Whether expiry can be judged: false while the homeserver's clock is further from ours than a real clock
   * error can be (then every server timestamp is suspect, and expiry waits until the clocks agree again).
   */
  readonly expiryJudgeable?: boolean;
  /**
   * For a sticky member: until when its sender has an encrypted sticky event the service has not read. It may be a
   * newer event of the same sticky key (another call, a refresh), and a leave written for this one would end it
   * too, so nothing is decided about the member before it is read or lapses. Null or absent: none.
   */
  readonly unreadUpdateUntil?: EpochMs | null;
}

/** Plain JSON-able facts behind a verdict, for logs and the audit trail. */
export interface VerdictEvidence {
  readonly now: EpochMs;
  readonly userJoined: boolean | "unknown";
  readonly expiresAt: EpochMs | null;
  readonly createdTs: EpochMs;
  readonly firstSeenAt: EpochMs;
  readonly sfu: SfuView["kind"];
  readonly presence?: SfuPresence;
  readonly goneSince?: EpochMs;
  /** From when the grace counts: when it went, or when the SFU came back if that is later. */
  readonly graceFrom?: EpochMs;
  readonly graceMs?: DurationMs;
  /** Which leave rule set the grace: LiveKit's reason said unreachable, a hang-up, or nothing conclusive. */
  readonly leaveKind?: LeaveKind;
  readonly waitingSince?: EpochMs;
  readonly trackingSince?: EpochMs;
}

/**
 * The judgement on one member (MSC3401 / MSC4143 membership vs LiveKit truth, MSC4195 mapping):
 * - `alive`: connected, within a grace period, or not judged by any SFU (`no-sfu-evidence`: the member
 *   depends on none, so only expiry and room membership apply and neither ended it);
 * - `ghost`: safe to clear, with the rule that decided it;
 * - `unknown`: the SFU it depends on cannot be judged now. Never a ghost on SFU grounds without evidence.
 */
export type Verdict = (
  | {
      readonly kind: "alive";
      readonly reason: "connected" | "awaiting-connect" | "within-grace" | "no-sfu-evidence";
    }
  | {
      readonly kind: "ghost";
      readonly reason: "expired" | "left_sfu" | "never_connected" | "not_joined";
    }
  | {
      readonly kind: "unknown";
      readonly reason:
        | "sfu_not_ours"
        | "sfu_unavailable"
        | "sfu_stale"
        | "sfu_contested"
        | "expired_but_connected"
        | "server_clock_unknown"
        | "update_unread";
    }
) &
  VerdictTiming & { readonly evidence: VerdictEvidence };

/** What acting on a verdict needs besides its reason: when to look again, and when the member really went. */
export interface VerdictTiming {
  /**
   * The instant this verdict can change by time alone (a grace ends, the membership expires); null when only a
   * new signal (an event, a webhook, a poll) can change it. Nothing else needs to recompute it.
   */
  readonly recheckAt: EpochMs | null;
  /** When the member really went, if the evidence says (LiveKit lost it, or its membership expired). */
  readonly wentAt: EpochMs | null;
}

type Judgement = Omit<Verdict, keyof VerdictTiming>;

/** A verdict with its timing: a grace's end (if any), and a future expiry unless the verdict is already final. */
function timed(j: Judgement, graceEnd: EpochMs | null = null, wentAt: EpochMs | null = null): Verdict {
  const expiresAt = j.evidence.expiresAt;
  const times: EpochMs[] = [];
  if (graceEnd !== null) times.push(graceEnd);
  if (j.kind !== "ghost" && expiresAt !== null && expiresAt > j.evidence.now) times.push(expiresAt);
  return { ...j, recheckAt: times.length > 0 ? Math.min(...times) : null, wentAt } as Verdict;
}

/**
 * Judges one member. Order: not joined to the room → ghost; its sender's newer encrypted event unread → unknown;
 * expired → ghost, unless the SFU shows it connected
 * (unknown: a live device outranks a timestamp) or the server clock is not known (unknown); then the SFU: no SFU →
 * alive; not ours / unavailable / stale → unknown; connected → alive; gone for at least the leave grace → ghost,
 * else alive; never seen (or only gone before this membership began: an earlier session) for at least the
 * connect grace since max(first seen, tracking start, creation) → ghost, else alive — unless other members'
 * claims chose that SFU for it (`contested`): then never seeing it there, or seeing it leave other than by a
 * timeout (a client follows a new oldest member to its SFU), proves nothing (unknown).
 */
export function judgeMember(member: RtcMember, ctx: VerdictContext): Verdict {
  const { now, sfu, policy } = ctx;
  const expiresAt = effectiveExpiry(member, policy.expiry);
  const base: VerdictEvidence = {
    now,
    userJoined: ctx.userJoined,
    expiresAt,
    createdTs: member.createdTs,
    firstSeenAt: ctx.firstSeenAt,
    sfu: sfu.kind,
  };
  if (ctx.userJoined === false) return timed({ kind: "ghost", reason: "not_joined", evidence: base });
  const unreadUntil = ctx.unreadUpdateUntil ?? null;
  if (unreadUntil !== null && now < unreadUntil)
    return timed({ kind: "unknown", reason: "update_unread", evidence: base }, unreadUntil);
  if (expiresAt !== null && now >= expiresAt) {
    if (ctx.expiryJudgeable === false)
      return timed({ kind: "unknown", reason: "server_clock_unknown", evidence: base });
    if (sfu.kind === "observed" && sfu.presence.kind === "connected") {
      const evidence = { ...base, presence: sfu.presence, trackingSince: sfu.trackingSince };
      return timed({ kind: "unknown", reason: "expired_but_connected", evidence });
    }
    return timed({ kind: "ghost", reason: "expired", evidence: base }, null, expiresAt);
  }
  switch (sfu.kind) {
    case "none":
      return timed({ kind: "alive", reason: "no-sfu-evidence", evidence: base });
    case "not-ours":
      return timed({ kind: "unknown", reason: "sfu_not_ours", evidence: base });
    case "unavailable":
      return timed({ kind: "unknown", reason: "sfu_unavailable", evidence: base });
    case "stale":
      return timed({ kind: "unknown", reason: "sfu_stale", evidence: base });
    case "observed":
      return judgeObserved(member, ctx, base, sfu);
  }
}

function judgeObserved(
  member: RtcMember,
  ctx: VerdictContext,
  base: VerdictEvidence,
  sfu: Extract<SfuView, { kind: "observed" }>,
): Verdict {
  const { now, policy } = ctx;
  const { presence, trackingSince, resumedAt } = sfu;
  if (presence.kind === "connected") {
    return timed({ kind: "alive", reason: "connected", evidence: { ...base, presence, trackingSince } });
  }
  if (presence.kind === "gone" && presence.since >= member.createdTs) {
    // Gone during or soon after an SFU outage or incident (restart, mass loss): its client may still be
    // reconnecting, so it gets the connect grace, counted from the comeback at the earliest. A service start is no
    // such incident: a participant seen connected and then gone after it really left. Otherwise LiveKit's reason
    // says how long to wait: nothing for a participant it timed out, a little for a hang-up.
    const afterReset = resumedAt !== null && presence.since - resumedAt < policy.connectGraceMs;
    const leaveKind = leaveKindOf(presence.reason);
    const leaveGrace = leaveGraceMs(leaveKind, policy);
    const graceFrom = afterReset ? Math.max(presence.since, resumedAt) : presence.since;
    const graceMs = afterReset ? Math.max(leaveGrace, policy.connectGraceMs) : leaveGrace;
    const evidence = {
      ...base,
      presence,
      trackingSince,
      goneSince: presence.since,
      graceFrom,
      graceMs,
      leaveKind,
    };
    // A client moved to another SFU by other members' claims leaves ours cleanly; only a timeout says it is gone.
    if (sfu.contested === true && leaveKind !== "unreachable")
      return timed({ kind: "unknown", reason: "sfu_contested", evidence });
    return now - graceFrom >= graceMs
      ? timed({ kind: "ghost", reason: "left_sfu", evidence }, null, presence.since)
      : timed({ kind: "alive", reason: "within-grace", evidence }, graceFrom + graceMs);
  }
  const waitingSince = Math.max(ctx.firstSeenAt, trackingSince, member.createdTs);
  const graceMs = policy.connectGraceMs;
  const evidence = { ...base, presence, trackingSince, waitingSince, graceMs };
  if (sfu.contested === true) return timed({ kind: "unknown", reason: "sfu_contested", evidence });
  return now - waitingSince >= graceMs
    ? timed({ kind: "ghost", reason: "never_connected", evidence })
    : timed({ kind: "alive", reason: "awaiting-connect", evidence }, waitingSince + graceMs);
}

/** Judges several members with a context per member (e.g. one room's effective call). */
export function judgeMembers(
  members: readonly RtcMember[],
  contextOf: (member: RtcMember) => VerdictContext,
): { readonly member: RtcMember; readonly verdict: Verdict }[] {
  return members.map((member) => ({ member, verdict: judgeMember(member, contextOf(member)) }));
}
