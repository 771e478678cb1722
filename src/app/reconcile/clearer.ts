// Clears ghost memberships on the user's behalf, least invasive method first; every attempt is logged and audited.
import { type ClearMethod, type ClearPlan, planClear } from "../../domain/clearing/plan";
import type { RtcMember } from "../../domain/membership/model";
import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/logger";
import { type Actor, type MatrixPort, MatrixRequestError } from "../ports/matrix";
import type { Metrics } from "../ports/metrics";
import type { Store } from "../ports/store";
import type { SfuService } from "../sfu/sfu-service";
import type { CallState } from "../state/call-state";
import { ClearMethods, MembershipChanged } from "./clear-methods";
import { ghostLifetimeStart, ghostWentAt, leaveReasonFor } from "./clear-evidence";
import type { FalsePositives } from "./false-positives";
import { isSfuBased, type Judged } from "./judge";
import type { ServerClockOffset } from "../server-clock";
import type { RoomAccess, RoomAccessCache } from "./room-access";

export interface ClearerOptions {
  readonly dryRun: boolean;
  readonly actions: {
    readonly fireDelayedLeave: boolean;
    readonly writeAsUser: boolean;
    readonly writeAsBot: boolean;
  };
  readonly concurrency: number;
  /** Whether the service may act for this user (on our server, in the registration's namespace). */
  readonly isLocalUser: (userId: string) => boolean;
}

export interface ClearerDeps {
  readonly matrix: MatrixPort;
  readonly sfu: SfuService;
  readonly state: CallState;
  readonly access: RoomAccessCache;
  /** The homeserver's clock as we estimate it: the sessions a clear ends are timed on it. */
  readonly serverClock: ServerClockOffset;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Told of each verdict's successful clear, so a member that comes straight back counts against it. */
  readonly falsePositives: Pick<FalsePositives, "noteClear">;
  readonly options: ClearerOptions;
}

/** Why a clear was asked: a verdict, or a moderator's command. */
export type ClearCause =
  { readonly kind: "verdict" } | { readonly kind: "command"; readonly by: string; readonly command: string };

export interface ClearOutcome {
  readonly result: "cleared" | "would_clear" | "skipped" | "cannot_clear" | "failed";
  readonly method: ClearMethod | null;
  readonly detail: string;
}

export class Clearer {
  private readonly inFlight = new Set<string>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private readonly methods: ClearMethods;
  private readonly opts: ClearerOptions;

  constructor(private readonly d: ClearerDeps) {
    this.opts = d.options;
    this.methods = new ClearMethods(d.matrix);
  }

  isBusy(memberKey: string): boolean {
    return this.inFlight.has(memberKey);
  }

  /** Clears one member (once at a time per member, bounded concurrency overall). */
  async clear(
    j: Judged,
    cause: ClearCause = { kind: "verdict" },
    dryRun = this.opts.dryRun,
  ): Promise<ClearOutcome> {
    const key = j.member.key;
    if (this.inFlight.has(key)) return { result: "skipped", method: null, detail: "already being cleared" };
    this.inFlight.add(key);
    try {
      await this.slot();
      try {
        return await this.run(j, cause, dryRun);
      } finally {
        this.active--;
        this.waiting.shift()?.();
      }
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async slot(): Promise<void> {
    if (this.active < this.opts.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
  }

  private record(
    j: Judged,
    cause: ClearCause,
    outcome: ClearOutcome,
    extra: Record<string, unknown> = {},
  ): ClearOutcome {
    const m = j.member;
    const action =
      outcome.result === "cleared"
        ? "clear"
        : outcome.result === "would_clear"
          ? "would_clear"
          : outcome.result === "cannot_clear"
            ? "cannot_clear"
            : outcome.result === "failed"
              ? "clear_failed"
              : "clear_skipped";
    const reason =
      j.verdict.kind === "ghost"
        ? j.verdict.reason
        : cause.kind === "command"
          ? cause.command
          : j.verdict.reason;
    const evidence = {
      ...j.verdict.evidence,
      detail: outcome.detail,
      format: m.source.format,
      slot: m.slotKey,
      ...extra,
    };
    this.d.store.audit({
      at: this.d.clock.now(),
      action,
      roomId: m.roomId,
      userId: m.userId,
      deviceId: m.deviceId,
      memberKey: m.key,
      reason,
      method: outcome.method,
      result: outcome.result,
      actor: cause.kind === "command" ? cause.by : "reconciler",
      evidence,
    });
    const fields = {
      room: m.roomId,
      user: m.userId,
      device: m.deviceId,
      reason,
      method: outcome.method,
      result: outcome.result,
      detail: outcome.detail,
      dry_run: outcome.result === "would_clear",
      evidence,
    };
    if (outcome.result === "failed" || outcome.result === "cannot_clear")
      this.d.logger.warn(`clear: ${outcome.result}`, fields);
    else this.d.logger.info(`clear: ${outcome.result}`, fields);
    return outcome;
  }

  /** How a member would be cleared given what the room allows: the one place "clearable" is decided. */
  private planWith(m: RtcMember, access: RoomAccess, owner: string | null): ClearPlan {
    const stateKey = m.source.stateKey;
    return planClear({
      format: m.source.format,
      isState: stateKey !== null,
      localUser: this.opts.isLocalUser(m.userId),
      ownedKey: stateKey?.startsWith("@") ?? false,
      bot:
        stateKey !== null
          ? this.d.access.botMayWrite(access, m.source.type, stateKey, owner, this.d.matrix.botUserId)
          : "power_too_low",
      enabled: this.opts.actions,
    });
  }

  /** How this member would be cleared now, for a reader (`ghosts`); null when the room cannot be read. */
  async planFor(m: RtcMember): Promise<ClearPlan | null> {
    const room = this.d.state.room(m.roomId);
    const held = room?.heldSlot(m.slotKey);
    try {
      const access = await this.d.access.get(m.roomId, room?.roomVersion ?? null, this.d.clock.now());
      return this.planWith(m, access, held?.ref.owner ?? null);
    } catch {
      return null;
    }
  }

  /**
   * Why the judged membership may no longer be ended now, or null: its slot must still hold the judged event and
   * member, and a sticky member's sender must have no encrypted event we have not read (it may be a newer event of
   * the same sticky key, which our leave would end too).
   */
  private stillCurrent(m: RtcMember): string | null {
    const room = this.d.state.room(m.roomId);
    const held = room?.heldSlot(m.slotKey);
    if (!room || !held || held.ref.eventId !== m.source.eventId || !held.members.some((x) => x.key === m.key))
      return "membership changed since the verdict";
    if (m.source.stickyKey !== null && room.unreadStickyUntil(m.userId, this.d.clock.now()) !== null)
      return "the sender has an encrypted event not read yet";
    return null;
  }

  private async run(j: Judged, cause: ClearCause, dryRun: boolean): Promise<ClearOutcome> {
    const m = j.member;
    const now = this.d.clock.now();
    // 1. SFU-based verdicts are confirmed with the LiveKit API at decision time.
    if (cause.kind === "verdict" && isSfuBased(j.verdict) && j.target !== null) {
      const answer = await this.d.sfu.confirmAbsent(j.target);
      if (answer !== "absent") {
        return this.record(j, cause, {
          result: "skipped",
          method: null,
          detail: `LiveKit API says ${answer} at decision time`,
        });
      }
    }
    // 2. Still the same membership? Skip when the key changed since the verdict (asked again before each write).
    const room = this.d.state.room(m.roomId);
    const current = room?.heldSlot(m.slotKey);
    const stillCurrent = (): string | null => this.stillCurrent(m);
    const changed = stillCurrent();
    if (!current || changed !== null) {
      return this.record(j, cause, {
        result: "skipped",
        method: null,
        detail: changed ?? "membership changed since the verdict",
      });
    }
    const local = this.opts.isLocalUser(m.userId);
    const isState = m.source.stateKey !== null;
    let access;
    try {
      access = await this.d.access.get(m.roomId, room?.roomVersion ?? null, now);
    } catch (err) {
      return this.record(j, cause, {
        result: "failed",
        method: null,
        detail: `cannot read the room: ${String(err)}`,
      });
    }
    if (isState) {
      const stateKeyOf = m.source.stateKey;
      const reader: Actor | null = access.botJoined
        ? { kind: "bot" }
        : local
          ? { kind: "user", userId: m.userId }
          : null;
      if (reader !== null) {
        try {
          const live = await this.d.matrix.stateEvent(m.roomId, m.source.type, stateKeyOf, reader);
          if (live !== null && live.eventId === null) {
            // Without the event id nothing confirms the key still holds what we judged: do not write blind.
            return this.record(j, cause, {
              result: "failed",
              method: null,
              detail: "the homeserver did not say which event the key holds",
            });
          }
          if (live !== null && live.eventId !== m.source.eventId) {
            return this.record(j, cause, {
              result: "skipped",
              method: null,
              detail: "the homeserver holds a newer event for this key",
            });
          }
        } catch (err) {
          // Unconfirmed is not confirmed: the key may hold a newer join. Failed is retried later by the reconciler.
          return this.record(j, cause, {
            result: "failed",
            method: null,
            detail: `could not re-read the key before clearing: ${err instanceof Error ? err.message : String(err)}`,
          });
        }
      }
    }
    const plan = this.planWith(m, access, current.ref.owner);
    if (plan.kind === "cannot") {
      this.d.metrics.cannotClear(plan.reason);
      return this.record(j, cause, { result: "cannot_clear", method: null, detail: plan.reason });
    }
    if (dryRun) {
      return this.record(j, cause, {
        result: "would_clear",
        method: plan.methods[0] ?? null,
        detail: `dry run; plan: ${plan.methods.join(", ")}`,
      });
    }
    const failures: string[] = [];
    for (const method of plan.methods) {
      // A member whose user already left the room is not in the call: its cleared slot ends no session.
      if (room?.isJoined(m.userId) !== false) {
        const went = cause.kind === "verdict" ? ghostWentAt(j) : null;
        // The session's times are the homeserver's: convert the instants from our clock.
        const leftAt = went === null ? null : went - this.d.serverClock.offsetMs;
        const note = { reason: leaveReasonFor(j, method, cause), leftAt };
        this.d.state.ourLeaves.begin(m.key, note, this.d.clock.now() - this.d.serverClock.offsetMs);
      }
      try {
        const others = current.members.filter((x) => x.key !== m.key).length;
        const done = await this.methods.execute(j.member, method, current.ref.owner, others, stillCurrent);
        if (!done) {
          this.d.state.ourLeaves.abandon(m.key);
          failures.push(`${method}: not applicable`);
          continue;
        }
        this.d.state.ourLeaves.written(m.key, done.eventId);
        const lifetime = (this.d.clock.now() - ghostLifetimeStart(j, this.d.clock.now())) / 1000;
        const reason = j.verdict.kind === "ghost" ? j.verdict.reason : "command";
        // A moderator's end/kick of live members is not a ghost; it is audited, not counted as one.
        if (cause.kind === "verdict") this.d.metrics.ghostCleared(reason, method, lifetime);
        if (cause.kind === "verdict")
          this.d.falsePositives.noteClear(m, {
            at: this.d.clock.now(),
            identities: j.target?.identities ?? [],
            reason,
            unreachable: j.verdict.evidence.leaveKind === "unreachable",
          });
        return this.record(
          j,
          cause,
          { result: "cleared", method, detail: done.detail },
          { ghost_lifetime_s: lifetime, tried: failures },
        );
      } catch (err) {
        this.d.state.ourLeaves.abandon(m.key);
        if (err instanceof MembershipChanged)
          return this.record(
            j,
            cause,
            { result: "skipped", method: null, detail: err.message },
            { tried: failures },
          );
        const why = err instanceof Error ? err.message : String(err);
        failures.push(`${method}: ${why}`);
        this.d.metrics.clearFailed(
          method,
          err instanceof MatrixRequestError ? (err.errcode ?? String(err.status)) : "error",
        );
      }
    }
    return this.record(j, cause, { result: "failed", method: null, detail: failures.join("; ") });
  }
}
