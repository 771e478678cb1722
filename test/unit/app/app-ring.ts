// Builds the app ring as src/main/wiring.ts does, over typed fakes, the in-memory SQLite store and a fake clock.
import { SqliteStore } from "../../../src/adapters/sqlite/store";
import { Bot, type BotOptions } from "../../../src/app/commands/bot";
import { CommandQueries } from "../../../src/app/commands/queries";
import { commandTable } from "../../../src/app/commands/table";
import { EventRouter } from "../../../src/app/intake/event-router";
import { MatrixIntake } from "../../../src/app/intake/matrix-intake";
import { Clearer, type ClearerOptions } from "../../../src/app/reconcile/clearer";
import { FalsePositives } from "../../../src/app/reconcile/false-positives";
import { Judge } from "../../../src/app/reconcile/judge";
import { Reconciler } from "../../../src/app/reconcile/reconciler";
import { RoomAccessCache } from "../../../src/app/reconcile/room-access";
import { Resync } from "../../../src/app/resync";
import { ServerClockOffset } from "../../../src/app/server-clock";
import { DeploymentDirectory } from "../../../src/app/sfu/deployments";
import { SfuService } from "../../../src/app/sfu/sfu-service";
import { CallState } from "../../../src/app/state/call-state";
import { hashedTuple } from "../../../src/domain/sfu/hash";
import { ALICE, type ClientEvent, JWT_URL, nextEventId, ROOM, T0 } from "../domain/builders";
import { FakeClock, ManualScheduler } from "./fakes/clock";
import { FakeLiveKit } from "./fakes/livekit";
import { FakeMatrix } from "./fakes/matrix";
import { RecordingLogger, RecordingMetrics } from "./fakes/recorders";

export const BOT = "@rtc-bot:example.org";
export const CAROL = "@carol:remote.org";
export const DEPLOYMENT = "main";
/** The MSC4195 LiveKit room of the room's `m.call` call. */
export const LK_ROOM = hashedTuple([ROOM, "m.call#ROOM"]);
/** The MSC4195 identity of a format C device with js-sdk's default membershipID. */
export const identityOf = (user: string, device: string): string =>
  hashedTuple([user, device, `${user}:${device}`]);

export interface HarnessOptions {
  readonly store?: SqliteStore;
  readonly start?: number;
  readonly dryRun?: boolean;
  readonly actions?: Partial<ClearerOptions["actions"]>;
  readonly concurrency?: number;
  readonly sfuLeaveGraceMs?: number;
  readonly clientLeaveGraceMs?: number;
  readonly connectGraceMs?: number;
  readonly staleAfterMs?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly bot?: Partial<BotOptions>;
}

export function powerLevels(users: Record<string, number>, extra: Record<string, unknown> = {}): ClientEvent {
  return {
    event_id: nextEventId(),
    type: "m.room.power_levels",
    room_id: ROOM,
    sender: ALICE,
    origin_server_ts: T0,
    state_key: "",
    content: { users, ...extra },
  };
}

/** Lets every pending promise callback and immediate run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class AppRing {
  readonly clock: FakeClock;
  readonly scheduler: ManualScheduler;
  readonly logger = new RecordingLogger();
  readonly metrics = new RecordingMetrics();
  readonly livekit = new FakeLiveKit();
  readonly matrix: FakeMatrix;
  readonly store: SqliteStore;
  readonly directory = new DeploymentDirectory([{ name: DEPLOYMENT, serviceUrls: [JWT_URL] }]);
  readonly sfu: SfuService;
  readonly state: CallState;
  readonly serverClock = new ServerClockOffset(this.logger);
  readonly access: RoomAccessCache;
  readonly clearer: Clearer;
  readonly falsePositives: FalsePositives;
  readonly judge: Judge;
  readonly reconciler: Reconciler;
  readonly resync: Resync;
  readonly bot: Bot;
  readonly router: EventRouter;
  readonly intake: MatrixIntake;
  readonly isLocalUser = (userId: string): boolean => userId.endsWith(":example.org");

  constructor(o: HarnessOptions = {}) {
    this.clock = new FakeClock(o.start ?? T0);
    this.scheduler = new ManualScheduler(this.clock);
    this.matrix = new FakeMatrix(BOT, this.clock);
    this.store = o.store ?? SqliteStore.open(":memory:").store;
    const { clock, store, logger, metrics, matrix } = this;
    this.sfu = new SfuService(
      this.directory,
      this.livekit,
      store,
      clock,
      logger.child({ component: "sfu" }),
      metrics,
      {
        staleAfterMs: o.staleAfterMs ?? 120_000,
        retentionMs: 600_000,
      },
    );
    this.state = new CallState(store);
    this.access = new RoomAccessCache(matrix);
    this.clearer = new Clearer(
      matrix,
      this.sfu,
      this.state,
      this.access,
      this.serverClock,
      store,
      clock,
      logger,
      metrics,
      {
        dryRun: o.dryRun ?? false,
        actions: { fireDelayedLeave: true, writeAsUser: true, writeAsBot: true, ...o.actions },
        concurrency: o.concurrency ?? 4,
        isLocalUser: this.isLocalUser,
      },
    );
    const fp = new FalsePositives(
      this.clearer.recent,
      store,
      clock,
      logger,
      metrics,
      o.backoffBaseMs ?? 60_000,
      o.backoffMaxMs ?? 3_600_000,
    );
    this.falsePositives = fp;
    const policy = {
      sfuLeaveGraceMs: o.sfuLeaveGraceMs ?? 5_000,
      clientLeaveGraceMs: o.clientLeaveGraceMs ?? 2_000,
      connectGraceMs: o.connectGraceMs ?? 60_000,
      expiry: { maxAgeWithoutExpiry: null },
    };
    this.judge = new Judge(this.state, this.sfu, this.serverClock, store, logger, metrics, policy, (m, now) =>
      fp.backedOff(m, now),
    );
    this.reconciler = new Reconciler({
      state: this.state,
      judge: this.judge,
      clearer: this.clearer,
      sfu: this.sfu,
      falsePositives: fp,
      scheduler: this.scheduler,
      clock,
      logger,
      metrics,
      batch: (fn) => store.transaction(fn),
    });
    this.resync = new Resync({
      matrix,
      state: this.state,
      reconciler: this.reconciler,
      store,
      clock,
      logger,
      isLocalUser: this.isLocalUser,
      drainPending: () => {
        this.intake.drain();
      },
    });
    const queries = new CommandQueries(this.state, this.reconciler, this.sfu, store, (m) =>
      this.clearer.planFor(m),
    );
    const table = commandTable({
      prefix: "!rtc",
      queries,
      clearer: this.clearer,
      sfu: this.sfu,
      state: this.state,
      dryRun: o.dryRun ?? false,
    });
    const botOptions: BotOptions = {
      prefix: "!rtc",
      admins: ["@admin:example.org"],
      moderatorLevel: 50,
      acceptInvitesFrom: "local",
      ratePerMinute: 10,
      domain: "example.org",
      maxCommandAgeMs: 300_000,
      ...o.bot,
    };
    this.bot = new Bot({
      table,
      matrix,
      access: this.access,
      store,
      clock,
      logger,
      metrics,
      options: botOptions,
      onJoined: async (roomId) => {
        await this.resync.room(roomId);
        this.reconciler.flush();
      },
    });
    this.router = new EventRouter(
      this.state,
      this.reconciler,
      this.access,
      clock,
      logger,
      metrics,
      BOT,
      this.bot,
    );
    this.intake = new MatrixIntake(
      store,
      clock,
      logger,
      metrics,
      (entry) => {
        this.router.handle(entry);
      },
      () => {
        this.router.afterBatch();
      },
      (type, event) => (type === "m.room.message" ? this.bot.looksLikeCommand(event) : true),
    );
  }
}
