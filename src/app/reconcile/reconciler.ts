// Re-judges a room on every signal (membership change, webhook, poll, deadline) and clears the ghosts it finds.
import type { EpochMs } from "../../domain/time";
import { participantIdentities } from "../../domain/sfu/mapping";
import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/logger";
import type { Metrics } from "../ports/metrics";
import type { Scheduler } from "../ports/scheduler";
import type { SfuService, SfuWebhookSignal } from "../sfu/sfu-service";
import type { Applied, CallState } from "../state/call-state";
import type { Clearer } from "./clearer";
import type { FalsePositives } from "./false-positives";
import type { Judge, Judged } from "./judge";
import type { Orphans } from "./orphans";

/** A ghost that could not be cleared (dry run, no method, failure) is tried again after this long. */
const RETRY_MS = 30_000;
/**
 * After a successful clear the member is left alone while its leave comes back through the homeserver: sticky
 * members have no state key to re-read, so without this a sweep could send the same leave twice.
 */
const ECHO_WAIT_MS = 30_000;
/** A clear skipped because the evidence changed (API says present, key rewritten) may be judged again soon. */
const SKIP_RETRY_MS = 5_000;

export interface ReconcilerDeps {
  readonly state: CallState;
  readonly judge: Judge;
  readonly clearer: Clearer;
  readonly sfu: SfuService;
  readonly falsePositives: FalsePositives;
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Reports (and optionally removes) SFU participants no membership maps to, after each sweep. */
  readonly orphans: Orphans;
  /** Groups the audit writes of one pass into one database transaction. */
  readonly batch: <T>(fn: () => T) => T;
  /** Margin after a deadline (grace end, expiry) before judging again. */
  readonly deadlineSlackMs?: number;
}

export class Reconciler {
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: EpochMs; cancel: () => void }>();
  /** LiveKit room name → Matrix rooms whose members map to it (learned while judging). */
  private readonly byLivekitRoom = new Map<string, Set<string>>();
  /** The reverse of byLivekitRoom: a Matrix room's LiveKit room names. */
  private readonly livekitRoomsOf = new Map<string, Set<string>>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Members whose last clear attempt did not clear them (dry run, cannot, failed): not retried before this instant. */
  private readonly retryAfter = new Map<string, EpochMs>();
  private stopped = false;

  constructor(private readonly d: ReconcilerDeps) {}

  /** Reacts to what an event did; the room is judged after the current intake batch. */
  onApplied(applied: Applied): void {
    for (const change of applied.changes) {
      const m = change.member;
      const fields = {
        room: m.roomId,
        user: m.userId,
        device: m.deviceId,
        format: m.source.format,
        at: change.at,
      };
      if (change.kind === "joined") {
        this.d.logger.info("membership joined", {
          ...fields,
          expires_at: m.expiresAt,
          event_id: change.eventId,
        });
        this.d.falsePositives.onMembershipJoined(m);
      } else if (change.kind === "left") {
        this.d.logger.info("membership left", { ...fields, cause: change.cause, event_id: change.eventId });
      } else {
        this.d.logger.debug("membership refreshed", { ...fields, expires_at: m.expiresAt });
      }
    }
    this.dirty.add(applied.roomId);
  }

  /** Judges every room touched since the last call. */
  flush(): void {
    const rooms = [...this.dirty];
    this.dirty.clear();
    this.d.batch(() => {
      for (const roomId of rooms) this.evaluate(roomId);
    });
  }

  onWebhook(hook: SfuWebhookSignal): void {
    const room = this.d.sfu.onWebhook(hook);
    this.d.logger.info("LiveKit webhook", {
      deployment: hook.deployment,
      event: hook.event,
      livekit_room: hook.room,
      identity: hook.identity,
      sid: hook.sid,
      disconnect_reason: hook.disconnectReason,
    });
    if (hook.event === "participant_joined" && hook.identity !== null)
      this.d.falsePositives.onParticipantJoined(hook.identity);
    if (room === null) return;
    for (const roomId of this.byLivekitRoom.get(room) ?? []) this.evaluate(roomId);
  }

  /** How many LiveKit room names are followed for webhooks (those of current members only). */
  get followedLivekitRooms(): number {
    return this.byLivekitRoom.size;
  }

  /** Which Matrix rooms to judge again on a LiveKit room's webhook: kept to the rooms' current members only. */
  private indexLivekitRooms(roomId: string, judged: readonly Judged[]): void {
    const now = new Set(judged.flatMap((j) => j.target?.rooms ?? []));
    for (const lk of this.livekitRoomsOf.get(roomId) ?? []) {
      if (now.has(lk)) continue;
      const rooms = this.byLivekitRoom.get(lk);
      rooms?.delete(roomId);
      if (rooms?.size === 0) this.byLivekitRoom.delete(lk);
    }
    for (const lk of now) {
      let rooms = this.byLivekitRoom.get(lk);
      if (!rooms) this.byLivekitRoom.set(lk, (rooms = new Set()));
      rooms.add(roomId);
    }
    if (now.size > 0) this.livekitRoomsOf.set(roomId, now);
    else this.livekitRoomsOf.delete(roomId);
  }

  /** Judges one room for a reader: no timer is armed, nothing is cleared or recorded. */
  peek(roomId: string): Judged[] {
    const room = this.d.state.room(roomId);
    return room ? this.d.judge.peekRoom(room, this.d.clock.now()) : [];
  }

  /** Judges one room now; clears its ghosts in the background and arranges the next time-based look. */
  evaluate(roomId: string): Judged[] {
    const room = this.d.state.room(roomId);
    if (!room || this.stopped) return [];
    const now = this.d.clock.now();
    const judged = this.d.judge.judgeRoom(room, now);
    let next: EpochMs | null = null;
    this.indexLivekitRooms(roomId, judged);
    for (const j of judged) {
      const deadline = j.verdict.recheckAt;
      if (deadline !== null && (next === null || deadline < next)) next = deadline;
      if (j.verdict.kind === "ghost") this.tryClear(j, now);
    }
    this.arm(roomId, next, now);
    return judged;
  }

  private tryClear(j: Judged, now: EpochMs): void {
    const key = j.member.key;
    if (this.d.clearer.isBusy(key) || (this.retryAfter.get(key) ?? 0) > now) return;
    this.track(
      this.d.clearer.clear(j).then((outcome) => {
        const wait =
          outcome.result === "cleared"
            ? ECHO_WAIT_MS
            : outcome.result === "skipped"
              ? SKIP_RETRY_MS
              : RETRY_MS;
        this.retryAfter.set(key, this.d.clock.now() + wait);
      }),
    );
  }

  private track(p: Promise<unknown>): void {
    const guarded = p.catch((err: unknown) => {
      this.d.logger.error("clear crashed", { error: err });
    });
    this.pending.add(guarded);
    void guarded.finally(() => this.pending.delete(guarded));
  }

  private arm(roomId: string, at: EpochMs | null, now: EpochMs): void {
    const existing = this.timers.get(roomId);
    if (at === null) {
      existing?.cancel();
      this.timers.delete(roomId);
      return;
    }
    if (existing && existing.at <= at && existing.at > now) return;
    existing?.cancel();
    const delay = Math.max(0, at - now) + (this.d.deadlineSlackMs ?? 50);
    const cancel = this.d.scheduler.after(delay, () => {
      this.timers.delete(roomId);
      this.evaluate(roomId);
    });
    this.timers.set(roomId, { at, cancel });
  }

  /** Judges every tracked room (the periodic sweep) and refreshes the gauges. */
  sweep(): void {
    const now = this.d.clock.now();
    for (const [key, until] of this.retryAfter) if (until <= now) this.retryAfter.delete(key);
    for (const applied of this.d.state.expireSticky(now)) this.onApplied(applied);
    this.dirty.clear();
    let members = 0;
    let liveCalls = 0;
    const known = new Set<string>();
    this.d.batch(() => {
      for (const room of this.d.state.allRooms()) {
        const judged = this.evaluate(room.roomId);
        members += judged.length;
        if (room.memberCount > 0) liveCalls++;
        for (const j of judged) {
          // A member we cannot place on one of our deployments may still be on any of them.
          const where = j.target?.deployment ?? "*";
          for (const id of j.target?.identities ?? participantIdentities(j.member))
            known.add(`${where}|${id}`);
        }
      }
    });
    this.track(this.d.orphans.check(known));
    this.d.metrics.setTracked({
      rooms: this.d.state.roomCount,
      members,
      liveCalls,
      ghosts: this.d.judge.ghostCount(),
    });
  }

  /** Waits for clears in flight (start-up reconcile, shutdown, tests). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    await this.settled();
  }
}
