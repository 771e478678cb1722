// The leaves this service writes, tied to the event the homeserver returns: a session ends with our reason only
// when its leave is the event we wrote, never a client's own leave that raced ours or came later.
import type { UserLeaveReason } from "../../domain/sessions/types";
import type { EpochMs } from "../../domain/time";

/** How long after we began writing a leave its echo is waited for (server time); later, nothing is claimed. */
export const OUR_LEAVE_WINDOW_MS = 60_000;

/** Why we ended a member, and when it really went (server time), for its session. */
export interface LeaveNote {
  readonly reason: UserLeaveReason;
  readonly leftAt: EpochMs | null;
}

interface Pending extends LeaveNote {
  /** When we began writing (server time): a leave created before it is the client's own. */
  readonly startedAt: EpochMs;
  /**
   * The event the homeserver returned for our write; null while the write is in flight, or when the homeserver
   * sent it without telling (a fired delayed leave): then only a leave created after we began can be ours.
   */
  eventId: string | null;
}

export class OurLeaves {
  private readonly byMember = new Map<string, Pending>();

  /** We are about to write (or fire) this member's leave. */
  begin(memberKey: string, note: LeaveNote, startedAt: EpochMs): void {
    this.byMember.set(memberKey, { ...note, startedAt, eventId: null });
  }

  /** The homeserver took our write; `eventId` is what it returned (null when it did not say). */
  written(memberKey: string, eventId: string | null): void {
    const pending = this.byMember.get(memberKey);
    if (pending !== undefined) pending.eventId = eventId;
  }

  /** The write failed or did not apply: nothing of ours will come back. */
  abandon(memberKey: string): void {
    this.byMember.delete(memberKey);
  }

  /**
   * Whether a leave of this member (its event id, its server time) is the one we wrote; if so, our note, which is
   * then used up. A client's own leave gets null, and ours keeps waiting for its echo (within the window).
   */
  claim(memberKey: string, eventId: string | null, at: EpochMs): LeaveNote | null {
    const pending = this.byMember.get(memberKey);
    if (pending === undefined) return null;
    if (at - pending.startedAt > OUR_LEAVE_WINDOW_MS) {
      this.byMember.delete(memberKey);
      return null;
    }
    const ours = pending.eventId !== null ? pending.eventId === eventId : at >= pending.startedAt;
    if (!ours) return null;
    this.byMember.delete(memberKey);
    return { reason: pending.reason, leftAt: pending.leftAt };
  }
}
