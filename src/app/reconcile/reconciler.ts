// Judges a room when a signal touches it or its time comes, every room in slices after a poll; clears the ghosts.
import type { EpochMs } from "../../domain/time";
import { participantIdentities } from "../../domain/sfu/mapping";
import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/logger";
import type { Metrics } from "../ports/metrics";
import type { Scheduler } from "../ports/scheduler";
import type { SfuService, SfuWebhookSignal } from "../sfu/sfu-service";
import type { Applied, CallState } from "../state/call-state";
import type { Clearer } from "./clearer";
import { DueRooms } from "./due-rooms";
import type { FalsePositives } from "./false-positives";
import type { Judge, Judged } from "./judge";
import { LivekitRooms } from "./livekit-rooms";
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
/**
 * Rooms judged in one go (one database transaction) before the event loop gets a turn: a few milliseconds of work,
 * so a webhook or a transaction never waits long behind a burst of due rooms or a full re-check.
 */
export const ROOMS_PER_SLICE = 500;

const nextTurn = (): Promise<void> =>
  new Promise((resolve) => {
    setImmediate(resolve);
  });

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
  /** When each room is next due for a look; one timer for the earliest. */
  private readonly due: DueRooms;
  private readonly livekitRooms = new LivekitRooms();
  private readonly pending = new Set<Promise<unknown>>();
  /** Members whose last clear attempt did not clear them (dry run, cannot, failed): not retried before this instant. */
  private readonly retryAfter = new Map<string, EpochMs>();
  /** The full re-check under way, and how many were asked for (one asked while a pass runs gets one more pass). */
  private rechecking: Promise<void> | null = null;
  private rechecksAsked = 0;
  /** While a full re-check runs: the orphan suspects, and those of them a membership was seen to map to. */
  private orphanWatch: { readonly suspects: ReadonlySet<string>; readonly known: Set<string> } | null = null;
  /** Members and rooms with a call, as the last full re-check counted them (for the gauges). */
  private counted = { members: 0, liveCalls: 0 };
  private stopped = false;

  constructor(private readonly d: ReconcilerDeps) {
    this.due = new DueRooms({
      scheduler: d.scheduler,
      clock: d.clock,
      onDue: () => {
        this.judgeDue();
      },
    });
  }

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

  /**
   * Judges the rooms touched since the last call: one slice now, the rest made due at once (the next slices run on
   * the following turns of the event loop).
   */
  flush(): number {
    if (this.dirty.size === 0) return 0;
    const now = this.d.clock.now();
    const rooms: string[] = [];
    for (const roomId of this.dirty) {
      if (rooms.length < ROOMS_PER_SLICE) rooms.push(roomId);
      else this.due.setEarlier(roomId, now);
    }
    this.dirty.clear();
    return this.judgeAll(rooms);
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
    this.judgeAll([...this.livekitRooms.roomsOf(room)]);
  }

  /** How many LiveKit room names are followed for webhooks (those of current members only). */
  get followedLivekitRooms(): number {
    return this.livekitRooms.size;
  }

  /** When the room is next due for a look by time alone (a grace ends, a membership expires, a retry), or null. */
  dueAt(roomId: string): EpochMs | null {
    return this.due.dueAt(roomId);
  }

  /** Judges one room for a reader: nothing is queued, cleared or recorded. */
  peek(roomId: string): Judged[] {
    const room = this.d.state.room(roomId);
    return room ? this.d.judge.peekRoom(room, this.d.clock.now()) : [];
  }

  /** Judges one room now; clears its ghosts in the background and queues the room's next time-based look. */
  evaluate(roomId: string): Judged[] {
    if (this.stopped) return [];
    const room = this.d.state.room(roomId);
    if (!room) {
      // No longer tracked: nothing of it is kept here either.
      this.due.set(roomId, null);
      this.livekitRooms.update(roomId, []);
      this.d.judge.forgetRoom(roomId);
      return [];
    }
    const now = this.d.clock.now();
    const judged = this.d.judge.judgeRoom(room, now);
    this.livekitRooms.update(roomId, judged);
    let next: EpochMs | null = null;
    for (const j of judged) {
      this.noteForOrphans(j);
      let at = j.verdict.recheckAt;
      if (j.verdict.kind === "ghost") {
        const retry = this.tryClear(j, now);
        if (retry !== null && (at === null || retry < at)) at = retry;
      }
      if (at !== null && (next === null || at < next)) next = at;
    }
    this.due.set(roomId, next === null ? null : next + (this.d.deadlineSlackMs ?? 50));
    return judged;
  }

  /** Starts clearing a ghost; returns when it may be tried again if an earlier attempt holds it back. */
  private tryClear(j: Judged, now: EpochMs): EpochMs | null {
    const key = j.member.key;
    const retry = this.retryAfter.get(key);
    if (retry !== undefined && retry > now) return retry;
    if (this.d.clearer.isBusy(key)) return null;
    const roomId = j.member.roomId;
    this.track(
      this.d.clearer.clear(j).then(
        (outcome) => {
          this.retryLater(
            key,
            roomId,
            outcome.result === "cleared"
              ? ECHO_WAIT_MS
              : outcome.result === "skipped"
                ? SKIP_RETRY_MS
                : RETRY_MS,
          );
        },
        (err: unknown) => {
          this.retryLater(key, roomId, RETRY_MS);
          throw err;
        },
      ),
    );
    return null;
  }

  /** The member is not tried again for `waitMs`; its room is looked at then (the echo of our leave, or the retry). */
  private retryLater(key: string, roomId: string, waitMs: number): void {
    const until = this.d.clock.now() + waitMs;
    this.retryAfter.set(key, until);
    if (!this.stopped) this.due.setEarlier(roomId, until + (this.d.deadlineSlackMs ?? 50));
  }

  private track(p: Promise<unknown>): void {
    const guarded = p.catch((err: unknown) => {
      this.d.logger.error("clear crashed", { error: err });
    });
    this.pending.add(guarded);
    void guarded.finally(() => this.pending.delete(guarded));
  }

  /** Judges the rooms in one database transaction; returns how many. */
  private judgeAll(rooms: readonly string[]): number {
    if (rooms.length === 0) return 0;
    this.d.batch(() => {
      for (const roomId of rooms) this.evaluate(roomId);
    });
    return rooms.length;
  }

  /** The timer's work: one slice of the rooms due now (the timer comes back at once for the rest). */
  private judgeDue(): number {
    return this.stopped ? 0 : this.judgeAll(this.due.take(ROOMS_PER_SLICE));
  }

  /**
   * The periodic sweep: memberships whose stickiness lapsed, the rooms touched or due, the gauges. It looks at no
   * other room; `recheckAll` (after a poll) does. Returns how many rooms it judged.
   */
  sweep(): number {
    const now = this.d.clock.now();
    for (const [key, until] of this.retryAfter) if (until <= now) this.retryAfter.delete(key);
    for (const applied of this.d.state.expireSticky(now)) this.onApplied(applied);
    const judged = this.flush() + this.judgeDue();
    this.publishGauges();
    return judged;
  }

  /**
   * Judges every tracked room again, a slice per turn of the event loop: a poll changes SFU views without any
   * webhook (and so do a server clock that is trusted again and a back-off that ended). Then refreshes the member
   * gauges and reports SFU participants no membership maps to. A call while a re-check runs shares it, and one
   * more pass follows, so every room is judged after the call was made.
   */
  recheckAll(): Promise<void> {
    this.rechecksAsked++;
    if (this.rechecking !== null) return this.rechecking;
    const passes = async (): Promise<void> => {
      let served = 0;
      while (served < this.rechecksAsked && !this.stopped) {
        served = this.rechecksAsked;
        await this.recheckOnce();
      }
    };
    this.rechecking = passes().finally(() => {
      this.rechecking = null;
    });
    return this.rechecking;
  }

  private async recheckOnce(): Promise<void> {
    const at = this.d.clock.now();
    const rooms: string[] = [];
    for (const room of this.d.state.allRooms()) rooms.push(room.roomId);
    const suspects = this.d.orphans.suspects(at);
    const watch = suspects.size > 0 ? { suspects, known: new Set<string>() } : null;
    this.orphanWatch = watch;
    let members = 0;
    let liveCalls = 0;
    try {
      for (let i = 0; i < rooms.length; i += ROOMS_PER_SLICE) {
        if (i > 0) await nextTurn();
        if (this.stopped) return;
        this.d.batch(() => {
          for (const roomId of rooms.slice(i, i + ROOMS_PER_SLICE)) {
            members += this.evaluate(roomId).length;
            if ((this.d.state.room(roomId)?.memberCount ?? 0) > 0) liveCalls++;
          }
        });
      }
    } finally {
      this.orphanWatch = null;
    }
    this.counted = { members, liveCalls };
    this.publishGauges();
    this.track(this.d.orphans.check(watch?.known ?? new Set(), at));
  }

  /** While a full re-check runs, remembers that a membership maps to a participant the orphan check suspects. */
  private noteForOrphans(j: Judged): void {
    const watch = this.orphanWatch;
    if (watch === null) return;
    if (j.target === null) {
      // A member we cannot place on one of our deployments (its SFU is not ours, or unknown) may be on any of them.
      const ids = new Set(participantIdentities(j.member));
      for (const key of watch.suspects) if (ids.has(key.slice(key.indexOf("|") + 1))) watch.known.add(key);
      return;
    }
    for (const id of j.target.identities) {
      const key = `${j.target.deployment}|${id}`;
      if (watch.suspects.has(key)) watch.known.add(key);
    }
  }

  private publishGauges(): void {
    this.d.metrics.setTracked({
      rooms: this.d.state.roomCount,
      members: this.counted.members,
      liveCalls: this.counted.liveCalls,
      ghosts: this.d.judge.ghostCount(),
    });
  }

  /** Waits for clears in flight (start-up reconcile, shutdown, tests). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.due.stop();
    await this.rechecking;
    await this.settled();
  }
}
