// Judges every membership of a room against its SFU, expiry and room membership; logs and audits verdict changes.
import type { RtcMember } from "../../domain/membership/model";
import type { RoomCallState } from "../../domain/membership/room-state";
import { SmallMap } from "../../domain/small-map";
import type { EpochMs } from "../../domain/time";
import { judgeMember, type Verdict, type VerdictPolicy } from "../../domain/verdict";
import type { Logger } from "../ports/logger";
import type { Metrics } from "../ports/metrics";
import type { Store } from "../ports/store";
import type { ServerClockOffset } from "../server-clock";
import type { MemberTarget, SfuService } from "../sfu/sfu-service";
import type { CallState } from "../state/call-state";
import type { FalsePositives } from "./false-positives";

/** One member with its verdict and where it lives on the SFU. */
export interface Judged {
  readonly member: RtcMember;
  readonly verdict: Verdict;
  readonly target: MemberTarget | null;
  /** When it was first judged a ghost (for the ghost lifetime). */
  readonly ghostSince: EpochMs | null;
}

const SFU_REASONS: ReadonlySet<string> = new Set(["left_sfu", "never_connected"]);

export const isSfuBased = (verdict: Verdict): boolean =>
  verdict.kind === "ghost" && SFU_REASONS.has(verdict.reason);

export interface JudgeDeps {
  readonly state: CallState;
  readonly sfu: SfuService;
  /** The homeserver's clock as we estimate it: a member's server timestamps are moved onto ours by it. */
  readonly serverClock: ServerClockOffset;
  readonly store: Store;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly policy: VerdictPolicy;
  /** Holds SFU-based verdicts back for a device after a false positive. */
  readonly falsePositives: Pick<FalsePositives, "backedOff">;
}

/** A member's last verdict: its kind and reason (the domain's constants, so no string of their own per member). */
interface Last {
  readonly kind: Verdict["kind"];
  readonly reason: Verdict["reason"];
  readonly ghostSince: EpochMs | null;
}

const labelOf = (last: Pick<Last, "kind" | "reason">): string => `${last.kind}:${last.reason}`;

/**
 * The `Last` of a verdict that is no ghost: one shared, frozen entry per kind and reason (the domain's few
 * constants, so the table stays as small as they are), instead of an object per member.
 */
const settled = new Map<string, Last>();
function settledLast(kind: Verdict["kind"], reason: Verdict["reason"]): Last {
  const label = labelOf({ kind, reason });
  let last = settled.get(label);
  if (last === undefined) settled.set(label, (last = Object.freeze({ kind, reason, ghostSince: null })));
  return last;
}

export class Judge {
  /** Room → member key → its last verdict (a room has a few members: a SmallMap, not a Map, per room). */
  private readonly last = new Map<string, SmallMap<Last>>();
  /** How many of those verdicts are ghosts (kept as they change, so the gauge never walks every room). */
  private ghosts = 0;

  constructor(private readonly d: JudgeDeps) {}

  /** A member's server timestamps expressed on our clock, so expiry and creation compare with our `now`. */
  private local(member: RtcMember): RtcMember {
    const offset = this.d.serverClock.offsetMs;
    if (offset === 0) return member;
    return {
      ...member,
      createdTs: member.createdTs + offset,
      expiresAt: member.expiresAt === null ? null : member.expiresAt + offset,
    };
  }

  /** The verdict on one member now, with nothing recorded (the one place a member is judged). */
  private verdictOf(room: RoomCallState, member: RtcMember, now: EpochMs): Omit<Judged, "ghostSince"> {
    const { view, target } = this.d.sfu.viewOf(member, room, now);
    let verdict = judgeMember(this.local(member), {
      now,
      userJoined: room.isJoined(member.userId),
      sfu: view,
      firstSeenAt: this.d.state.firstSeenAt(member),
      policy: this.d.policy,
      expiryJudgeable: this.d.serverClock.trusted,
      unreadUpdateUntil: member.source.stickyKey === null ? null : room.unreadStickyUntil(member.userId, now),
    });
    if (isSfuBased(verdict) && this.d.falsePositives.backedOff(member, now)) {
      verdict = {
        kind: "unknown",
        reason: "sfu_unavailable",
        evidence: { ...verdict.evidence },
        recheckAt: null,
        wentAt: null,
      };
    }
    return { member, verdict, target };
  }

  /** Judges one member and records a changed verdict (log, metric, audit row). */
  judgeOne(room: RoomCallState, member: RtcMember, now: EpochMs): Judged {
    const judged = this.verdictOf(room, member, now);
    const ghostSince = this.track(this.roomLast(room.roomId), room.roomId, member, judged.verdict, now);
    return { ...judged, ghostSince };
  }

  /** Judges every membership of the room for a reader (a command): nothing is logged, audited or remembered. */
  peekRoom(room: RoomCallState, now: EpochMs): Judged[] {
    const known = this.last.get(room.roomId);
    return room.allSlotMembers().map((member) => ({
      ...this.verdictOf(room, member, now),
      ghostSince: known?.get(member.key)?.ghostSince ?? null,
    }));
  }

  /** Judges every membership in the room's state, ghosts of users who left the room included. */
  judgeRoom(room: RoomCallState, now: EpochMs): Judged[] {
    const all = room.allSlotMembers();
    const judged = all.map((m) => this.judgeOne(room, m, now));
    const known = this.roomLast(room.roomId);
    if (known.size > all.length) {
      const keys = new Set(all.map((m) => m.key));
      for (const [key, last] of known.entries()) {
        if (keys.has(key)) continue;
        if (last.kind === "ghost") this.ghosts--;
        known.delete(key);
      }
    }
    if (known.size === 0) this.last.delete(room.roomId);
    return judged;
  }

  /** Forgets a room no longer tracked: its verdicts. */
  forgetRoom(roomId: string): void {
    for (const last of this.last.get(roomId)?.values() ?? []) if (last.kind === "ghost") this.ghosts--;
    this.last.delete(roomId);
  }

  private roomLast(roomId: string): SmallMap<Last> {
    let map = this.last.get(roomId);
    if (!map) this.last.set(roomId, (map = new SmallMap<Last>()));
    return map;
  }

  private track(
    known: SmallMap<Last>,
    roomId: string,
    member: RtcMember,
    verdict: Verdict,
    now: EpochMs,
  ): EpochMs | null {
    const previous = known.get(member.key);
    if (previous?.kind === verdict.kind && previous.reason === verdict.reason) return previous.ghostSince;
    const ghostSince = verdict.kind === "ghost" ? (previous?.ghostSince ?? now) : null;
    known.set(
      member.key,
      ghostSince === null
        ? settledLast(verdict.kind, verdict.reason)
        : { kind: verdict.kind, reason: verdict.reason, ghostSince },
    );
    this.ghosts += (verdict.kind === "ghost" ? 1 : 0) - (previous?.kind === "ghost" ? 1 : 0);
    this.d.metrics.verdict(verdict.kind, verdict.reason);
    const fields = {
      room: roomId,
      user: member.userId,
      device: member.deviceId,
      member_key: member.key,
      format: member.source.format,
      verdict: verdict.kind,
      reason: verdict.reason,
      previous: previous === undefined ? null : labelOf(previous),
      evidence: verdict.evidence,
    };
    if (verdict.kind === "ghost") this.d.logger.info("verdict: ghost", fields);
    else this.d.logger.debug(`verdict: ${verdict.kind}`, fields);
    this.d.store.audit({
      at: now,
      action: "verdict",
      roomId,
      userId: member.userId,
      deviceId: member.deviceId,
      memberKey: member.key,
      reason: verdict.reason,
      result: verdict.kind,
      evidence: { ...verdict.evidence, previous: previous === undefined ? null : labelOf(previous) },
    });
    return ghostSince;
  }

  /** The last verdict label of a member ("ghost:left_sfu"), if judged. */
  lastLabel(roomId: string, memberKey: string): string | null {
    const last = this.last.get(roomId)?.get(memberKey);
    return last === undefined ? null : labelOf(last);
  }

  /** Members whose last verdict is a ghost. */
  ghostCount(): number {
    return this.ghosts;
  }
}
