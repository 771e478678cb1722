// Scenario helpers over the app ring: feed or deliver events, echo our writes, move time, drive the SFU, read results.
import { type SqlRow, toUserSession } from "../../../src/adapters/sqlite/rows";
import type { Judged } from "../../../src/app/reconcile/judge";
import type { AuditAction, AuditRow, UserSessionRow } from "../../../src/app/ports/store";
import type { RtcMember } from "../../../src/domain/membership/model";
import { type ClientEvent, ROOM, roomCreate, roomMember, sessionJoin } from "../domain/builders";
import { AppRing, BOT, DEPLOYMENT, flush, identityOf, LK_ROOM, powerLevels } from "./app-ring";

export {
  BOT,
  CAROL,
  DEPLOYMENT,
  flush,
  type HarnessOptions,
  identityOf,
  LK_ROOM,
  powerLevels,
} from "./app-ring";

export class Harness extends AppRing {
  /** Puts events into the homeserver and straight into the call state (no intake, no reconciler). */
  feed(...events: ClientEvent[]): void {
    for (const e of events) {
      this.matrix.hold(e);
      this.store.transaction(() => {
        this.state.apply(e, e.room_id, this.clock.now());
        this.state.flush();
      });
    }
  }

  /** Puts events into the homeserver and pushes them through the appservice intake, then settles. */
  async deliver(...events: ClientEvent[]): Promise<void> {
    for (const e of events) {
      this.matrix.hold(e);
      this.intake.accept(e);
    }
    this.intake.drain();
    await this.settle();
  }

  /** Delivers what the homeserver would echo of our own writes. */
  async echo(): Promise<void> {
    await this.deliver(...this.matrix.takeOutbox());
  }

  async settle(): Promise<void> {
    await flush();
    await this.reconciler.settled();
    await flush();
  }

  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.settle();
  }

  /** The poll job: poll every deployment, then judge every room again. */
  async poll(): Promise<void> {
    await this.sfu.pollAll();
    await this.reconciler.recheckAll();
    await this.settle();
  }

  /** A v12 room created by Alice, the bot joined with `botLevel` (absent: not joined), the users joined. */
  room(o: { users: readonly string[]; botLevel?: number | null | undefined }): ClientEvent[] {
    const botLevel = o.botLevel === undefined ? 50 : o.botLevel;
    const events = [roomCreate("12"), powerLevels(botLevel === null ? {} : { [BOT]: botLevel })];
    if (botLevel !== null) events.push(roomMember(BOT, "join"));
    for (const u of o.users) events.push(roomMember(u, "join"));
    return events;
  }

  member(user: string, device: string): RtcMember {
    const m = this.state
      .room(ROOM)
      ?.allSlotMembers()
      .find((x) => x.userId === user && x.deviceId === device);
    if (!m) throw new Error(`no member ${user} ${device}`);
    return m;
  }

  /** Judges the room now (no clearing) and returns one member's judgement. */
  judged(user: string, device: string): Judged {
    const room = this.state.room(ROOM);
    const j = room
      ? this.judge
          .judgeRoom(room, this.clock.now())
          .find((x) => x.member.userId === user && x.member.deviceId === device)
      : undefined;
    if (!j) throw new Error(`no judgement for ${user} ${device}`);
    return j;
  }

  /** Audit rows so far, optionally of one action. */
  audit(action?: AuditAction): readonly AuditRow[] {
    return this.store.auditSince(0, action === undefined ? {} : { action });
  }

  /** Every user session row, open or closed, whatever its call (read straight from the database). */
  userSessions(): UserSessionRow[] {
    const rows = this.store.db.prepare("SELECT * FROM user_sessions ORDER BY joined_received_at, id").all();
    return (rows as SqlRow[]).map(toUserSession);
  }

  /** Connects a device's participant on the SFU and polls. */
  async connect(user: string, device: string, sid: string): Promise<void> {
    this.livekit.connect(DEPLOYMENT, LK_ROOM, identityOf(user, device), sid);
    await this.poll();
  }

  /**
   * The device was in the call and connected to the SFU for 61 s, then left the SFU; 6 s later (past the 5 s
   * leave grace) it is a left_sfu ghost. Polls only: no webhook, no sweep.
   */
  async leftSfuAfterACall(user: string, device: string): Promise<void> {
    this.feed(...this.room({ users: [user] }), sessionJoin({ user, device }));
    this.livekit.connect(DEPLOYMENT, LK_ROOM, identityOf(user, device), "PA_1");
    await this.sfu.pollAll();
    this.clock.advance(61_000);
    this.livekit.disconnect(DEPLOYMENT, LK_ROOM, identityOf(user, device));
    await this.sfu.pollAll();
    this.clock.advance(6_000);
  }

  /** A LiveKit webhook about one device's participant, received now (the API is updated to agree). */
  async webhook(
    event: "participant_joined" | "participant_left",
    user: string,
    device: string,
    sid: string,
    reason: string | null = "CLIENT_INITIATED",
  ): Promise<void> {
    const identity = identityOf(user, device);
    if (event === "participant_joined") this.livekit.connect(DEPLOYMENT, LK_ROOM, identity, sid);
    else this.livekit.disconnect(DEPLOYMENT, LK_ROOM, identity);
    this.reconciler.onWebhook({
      id: `${event}-${sid}`,
      deployment: DEPLOYMENT,
      event,
      room: LK_ROOM,
      identity,
      sid,
      disconnectReason: event === "participant_left" ? reason : null,
      receivedAt: this.clock.now(),
    });
    await this.settle();
  }

  /** The judge's last verdict label of a member ("ghost:left_sfu"). */
  label(user: string, device: string): string | null {
    return this.judge.lastLabel(ROOM, this.member(user, device).key);
  }
}
