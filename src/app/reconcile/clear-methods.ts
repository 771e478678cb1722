// The Matrix side of each clearing method: fire the user's own delayed leave, or write the leave as the user or the bot.
import {
  isPerDeviceFormat,
  stickyLeaveContent,
  stillHoldsEntries,
  withoutEntries,
} from "../../domain/clearing/leave-content";
import type { ClearMethod } from "../../domain/clearing/plan";
import type { RtcMember } from "../../domain/membership/model";
import type { Actor, DelayedEvent, MatrixPort } from "../ports/matrix";
import { isLeaveOf } from "./delayed-leave";

/** How long a sticky leave stays sticky (it only has to outlive the join it ends). */
const STICKY_LEAVE_DURATION_MS = 3_600_000;

/** What one method did: a description, and the leave event the homeserver returned (null when it did not say). */
export interface MethodDone {
  readonly detail: string;
  readonly eventId: string | null;
}

/** The membership changed while a method awaited the homeserver: nothing was written, and nothing may be. */
export class MembershipChanged extends Error {}

/**
 * Asked right before each write, with no await between: why the judged membership may no longer be ended (its
 * slot moved on, or its sender has an event we have not read), or null when it still may.
 */
export type StillCurrent = () => string | null;

export class ClearMethods {
  constructor(private readonly matrix: MatrixPort) {}

  /**
   * Carries out one method; returns what was done, or null when the method does not apply. Throws
   * `MembershipChanged` when `stillCurrent` says no before a write.
   * `othersInSlot`: how many other members share the member's key (a shared `@user` key), now.
   */
  async execute(
    m: RtcMember,
    method: ClearMethod,
    owner: string | null,
    othersInSlot: number,
    stillCurrent: StillCurrent,
  ): Promise<MethodDone | null> {
    const stateKey = m.source.stateKey;
    const beforeWrite = (): void => {
      const why = stillCurrent();
      if (why !== null) throw new MembershipChanged(why);
    };
    switch (method) {
      case "delayed_leave": {
        const pending = await this.pendingLeaves(m, othersInSlot);
        if (pending === null || pending.length === 0) return null;
        beforeWrite();
        for (const d of pending) await this.matrix.delayedEventAction(d.delayId, "send", m.userId);
        const ids = pending.map((d) => d.delayId).join(", ");
        // The homeserver does not say which event a fired delayed event became.
        return { detail: `sent the user's own delayed leave (${ids})`, eventId: null };
      }
      case "write_as_user": {
        const as: Actor = { kind: "user", userId: m.userId };
        const written = await this.writeLeave(m, as, beforeWrite);
        // Writing does not cancel the user's pending delayed leave; left alone it could knock out a later re-join.
        const stale = (await this.pendingLeaves(m, othersInSlot).catch(() => null)) ?? [];
        for (const d of stale)
          await this.matrix.delayedEventAction(d.delayId, "cancel", m.userId).catch(() => undefined);
        const cancelled = stale.length ? `; cancelled ${stale.length} stale delayed leave(s)` : "";
        return { detail: `${written.detail} as ${m.userId}${cancelled}`, eventId: written.eventId };
      }
      case "write_as_bot": {
        if (stateKey === null) return null;
        const written = await this.writeLeave(m, { kind: "bot" }, beforeWrite);
        const over = owner ? ` over ${owner}'s key` : "";
        return { detail: `${written.detail} as the bot (power level)${over}`, eventId: written.eventId };
      }
    }
    return null;
  }

  /** The user's pending delayed events that are this membership's leave; any other stays untouched. */
  private async pendingLeaves(m: RtcMember, othersInSlot: number): Promise<DelayedEvent[] | null> {
    const list = await this.matrix.delayedEvents(m.userId);
    if (list === null) return null;
    return list.filter((d) => isLeaveOf(d, m, othersInSlot));
  }

  private async writeLeave(m: RtcMember, as: Actor, beforeWrite: () => void): Promise<MethodDone> {
    const stateKey = m.source.stateKey;
    if (stateKey === null) {
      const format = m.source.format === "rtc-latest" ? "rtc-latest" : "sticky";
      const original = {
        slot_id: m.slotId,
        member: { id: m.memberId, user_id: m.userId, device_id: m.deviceId },
      };
      const content = stickyLeaveContent(format, original, m.source.stickyKey ?? "");
      beforeWrite();
      const eventId = await this.matrix.sendEvent(
        m.roomId,
        m.source.type,
        content,
        as,
        STICKY_LEAVE_DURATION_MS,
      );
      return { detail: "sent the sticky leave", eventId };
    }
    if (isPerDeviceFormat(m.source.format)) {
      beforeWrite();
      const eventId = await this.matrix.putState(m.roomId, m.source.type, stateKey, {}, as);
      return { detail: "wrote {} to the key", eventId };
    }
    const live = await this.matrix.stateEvent(m.roomId, m.source.type, stateKey, as);
    const rewritten = withoutEntries(live?.content ?? {}, [
      { deviceId: m.deviceId, application: m.application, callId: m.callId },
    ]);
    if (rewritten === null) throw new Error("the key holds neither m.calls nor memberships");
    beforeWrite();
    const eventId = await this.matrix.putState(m.roomId, m.source.type, stateKey, rewritten, as);
    const detail = stillHoldsEntries(rewritten)
      ? "rewrote the key without this device (others kept)"
      : "rewrote the key empty";
    return { detail, eventId };
  }
}
