// Wrong clears show up at once: the live client re-sends its membership, or its participant is back on the SFU.
// Each one is recorded, counted, and backs SFU-based clearing of that device off exponentially — except after a
// clear of a member LiveKit had timed out: that member really was unreachable, and its return is a reconnect.
import type { RtcMember } from "../../domain/membership/model";
import type { EpochMs } from "../../domain/time";
import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/logger";
import type { Metrics } from "../ports/metrics";
import type { Store } from "../ports/store";

/** A membership or participant back within this window after our clear means the clear was wrong. */
export const FALSE_POSITIVE_WINDOW_MS = 30_000;

export interface RecentClear {
  readonly at: number;
  readonly memberKey: string;
  readonly identities: readonly string[];
  readonly reason: string;
  /** Cleared because LiveKit timed the participant out: coming back is a reconnect, not a wrong clear. */
  readonly unreachable: boolean;
}

export const deviceKeyOf = (roomId: string, userId: string, deviceId: string): string =>
  `${roomId}|${userId}|${deviceId}`;

/** The device of a cleared member, and the member key the clear is recorded under. */
export type ClearedDevice = Pick<RtcMember, "roomId" | "userId" | "deviceId" | "key">;

export interface FalsePositivesDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The back-off after a device's first false positive; it doubles with each further one. */
  readonly backoffBaseMs: number;
  /** The back-off never grows past this. */
  readonly backoffMaxMs: number;
}

export class FalsePositives {
  /** Recent successful clears by device (room + user + device); only this class reads or changes them. */
  private readonly recent = new Map<string, RecentClear>();

  constructor(private readonly d: FalsePositivesDeps) {}

  /** A verdict's clear succeeded: a return of this device within the window will count against it. */
  noteClear(device: ClearedDevice, clear: Omit<RecentClear, "memberKey">): void {
    this.recent.set(deviceKeyOf(device.roomId, device.userId, device.deviceId), {
      ...clear,
      memberKey: device.key,
    });
  }

  /** How many recent clears are still watched (until a check finds them older than the window). */
  get watched(): number {
    return this.recent.size;
  }

  /** Whether SFU-based clearing of this member's device is backed off now. */
  backedOff(member: RtcMember, now: EpochMs): boolean {
    const row = this.d.store.backoff(deviceKeyOf(member.roomId, member.userId, member.deviceId));
    return row !== null && row.until > now;
  }

  /** A membership of this device (re)joined: was it one we just cleared? */
  onMembershipJoined(member: RtcMember): void {
    const key = deviceKeyOf(member.roomId, member.userId, member.deviceId);
    this.check(key, "membership re-sent", {
      room: member.roomId,
      user: member.userId,
      device: member.deviceId,
    });
  }

  /** A participant connected on the SFU: was it one we just cleared? */
  onParticipantJoined(identity: string): void {
    for (const [key, clear] of this.recent) {
      if (clear.identities.includes(identity)) this.check(key, "participant back on the SFU", { identity });
    }
  }

  private check(deviceKey: string, why: string, fields: Record<string, unknown>): void {
    const now = this.d.clock.now();
    for (const [key, clear] of this.recent)
      if (now - clear.at > FALSE_POSITIVE_WINDOW_MS) this.recent.delete(key);
    const clear = this.recent.get(deviceKey);
    if (!clear) return;
    this.recent.delete(deviceKey);
    const back = { ...fields, reason: clear.reason, back_after_ms: now - clear.at };
    if (clear.unreachable) {
      // LiveKit had timed it out: it really was unreachable, and its return is a reconnect, not a wrong clear.
      this.d.metrics.reconnectAfterClear(clear.reason);
      this.audit("reconnect", deviceKey, clear, why, { cleared_at: clear.at, ...back });
      this.d.logger.info(
        "reconnect: a member cleared after LiveKit timed it out came back; no back-off",
        back,
      );
      return;
    }
    const previous = this.d.store.backoff(deviceKey);
    const count = (previous?.falsePositives ?? 0) + 1;
    const wait = Math.min(this.d.backoffMaxMs, this.d.backoffBaseMs * 2 ** (count - 1));
    this.d.store.putBackoff({ deviceKey, falsePositives: count, until: now + wait });
    this.d.metrics.falsePositive(clear.reason);
    const backoff = { ...back, backoff_ms: wait, false_positives: count };
    this.audit("false_positive", deviceKey, clear, why, { cleared_at: clear.at, ...backoff });
    this.d.logger.warn(
      "false positive: a cleared member came straight back; backing off SFU-based clearing of it",
      backoff,
    );
  }

  private audit(
    action: "false_positive" | "reconnect",
    deviceKey: string,
    clear: RecentClear,
    why: string,
    evidence: Record<string, unknown>,
  ): void {
    const [roomId, userId, deviceId] = deviceKey.split("|");
    this.d.store.audit({
      at: this.d.clock.now(),
      action,
      roomId: roomId ?? null,
      userId: userId ?? null,
      deviceId: deviceId ?? null,
      memberKey: clear.memberKey,
      reason: clear.reason,
      result: why,
      evidence,
    });
  }
}
