// Builds the app ring through src/main/wiring.ts's buildApp, over typed fakes, the in-memory SQLite store and a fake clock.
import { SqliteStore } from "../../../src/adapters/sqlite/store";
import type { Bot, BotOptions } from "../../../src/app/commands/bot";
import type { EncryptedMemberships } from "../../../src/app/intake/encrypted-memberships";
import type { EventRouter } from "../../../src/app/intake/event-router";
import type { MatrixIntake } from "../../../src/app/intake/matrix-intake";
import type { Clearer, ClearerOptions } from "../../../src/app/reconcile/clearer";
import type { FalsePositives } from "../../../src/app/reconcile/false-positives";
import type { Judge } from "../../../src/app/reconcile/judge";
import type { Reconciler } from "../../../src/app/reconcile/reconciler";
import type { RoomAccessCache } from "../../../src/app/reconcile/room-access";
import type { Resync } from "../../../src/app/resync";
import type { CryptoSource } from "../../../src/app/ports/crypto";
import { ServerClockOffset } from "../../../src/app/server-clock";
import type { DeploymentDirectory } from "../../../src/app/sfu/deployments";
import type { SfuService } from "../../../src/app/sfu/sfu-service";
import type { CallState } from "../../../src/app/state/call-state";
import { type Config, configSchema } from "../../../src/config/schema";
import { type App, buildApp } from "../../../src/main/wiring";
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

/** What a test may change; each option but `store` and `start` sets a config key (see harnessConfig). */
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
  readonly removeOrphans?: boolean;
  /** The bot's encrypted device, as the service's crypto slot would hand it out. */
  readonly crypto?: CryptoSource;
  readonly evictAfterMs?: number;
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

/**
 * The service's config for the harness: parsed by the real schema, with the harness's defaults (writes on, shorter
 * back-offs, one deployment at JWT_URL) and each option mapped to its config key.
 */
export function harnessConfig(o: HarnessOptions = {}): Config {
  const a = o.actions ?? {};
  const b = o.bot ?? {};
  return configSchema.parse({
    homeserver: { url: "http://127.0.0.1:8008", domain: b.domain ?? "example.org" },
    livekit: {
      deployments: [
        {
          name: DEPLOYMENT,
          service_urls: [JWT_URL],
          api_url: "http://127.0.0.1:7880",
          api_key: "harness-key",
          api_secret: "harness-secret-of-32-characters-or-more",
        },
      ],
    },
    reconciliation: {
      dry_run: o.dryRun ?? false,
      sfu_leave_grace: o.sfuLeaveGraceMs ?? 5_000,
      client_leave_grace: o.clientLeaveGraceMs ?? 2_000,
      connect_grace: o.connectGraceMs ?? 60_000,
      sfu_view_max_age: o.staleAfterMs ?? 120_000,
      clear_concurrency: o.concurrency ?? 4,
      false_positive_backoff: o.backoffBaseMs ?? 60_000,
      false_positive_backoff_max: o.backoffMaxMs ?? 3_600_000,
      actions: {
        fire_delayed_leave: a.fireDelayedLeave ?? true,
        write_as_user: a.writeAsUser ?? true,
        write_as_bot: a.writeAsBot ?? true,
        remove_orphan_participants: o.removeOrphans ?? false,
      },
    },
    rooms: { evict_after: o.evictAfterMs ?? 3_600_000 },
    commands: {
      prefix: b.prefix ?? "!rtc",
      admins: b.admins ?? ["@admin:example.org"],
      moderator_power_level: b.moderatorLevel ?? 50,
      accept_invites_from: b.acceptInvitesFrom ?? "local",
      rate_limit_per_minute: b.ratePerMinute ?? 10,
      max_command_age: b.maxCommandAgeMs ?? 300_000,
    },
  });
}

/** The app as the service builds it, with fakes for its ports; its parts are fields for the tests to drive. */
export class AppRing {
  readonly clock: FakeClock;
  readonly scheduler: ManualScheduler;
  readonly logger = new RecordingLogger();
  readonly metrics = new RecordingMetrics();
  readonly livekit = new FakeLiveKit();
  readonly matrix: FakeMatrix;
  readonly store: SqliteStore;
  readonly config: Config;
  readonly serverClock = new ServerClockOffset(this.logger);
  readonly isLocalUser = (userId: string): boolean => userId.endsWith(":example.org");
  readonly app: App;
  readonly directory: DeploymentDirectory;
  readonly sfu: SfuService;
  readonly state: CallState;
  readonly access: RoomAccessCache;
  readonly clearer: Clearer;
  readonly falsePositives: FalsePositives;
  readonly judge: Judge;
  readonly reconciler: Reconciler;
  readonly resync: Resync;
  readonly bot: Bot;
  readonly encryptedMemberships: EncryptedMemberships;
  readonly router: EventRouter;
  readonly intake: MatrixIntake;

  constructor(o: HarnessOptions = {}) {
    this.clock = new FakeClock(o.start ?? T0);
    this.scheduler = new ManualScheduler(this.clock);
    this.matrix = new FakeMatrix(BOT, this.clock);
    this.store = o.store ?? SqliteStore.open(":memory:").store;
    this.config = harnessConfig(o);
    this.app = buildApp({
      config: this.config,
      store: this.store,
      matrix: this.matrix,
      livekit: this.livekit,
      clock: this.clock,
      scheduler: this.scheduler,
      logger: this.logger,
      metrics: this.metrics,
      isLocalUser: this.isLocalUser,
      serverClock: this.serverClock,
      ...(o.crypto ? { crypto: o.crypto } : {}),
    });
    ({
      directory: this.directory,
      sfu: this.sfu,
      state: this.state,
      access: this.access,
      clearer: this.clearer,
      falsePositives: this.falsePositives,
      judge: this.judge,
      reconciler: this.reconciler,
      resync: this.resync,
      bot: this.bot,
      encryptedMemberships: this.encryptedMemberships,
      router: this.router,
      intake: this.intake,
    } = this.app);
  }
}
