// Builds the app (call state, SFU view, judge, clearer, reconciler, intake, bot) from the config and adapters.
import type { Config } from "../config/schema";
import { Bot } from "../app/commands/bot";
import { CommandQueries } from "../app/commands/queries";
import { commandTable } from "../app/commands/table";
import { EncryptedMemberships } from "../app/intake/encrypted-memberships";
import { EventRouter } from "../app/intake/event-router";
import { FollowFilter } from "../app/intake/follow-filter";
import { MatrixIntake } from "../app/intake/matrix-intake";
import type { Clock } from "../app/ports/clock";
import type { CryptoSource } from "../app/ports/crypto";
import type { LiveKitPort } from "../app/ports/livekit";
import type { Logger } from "../app/ports/logger";
import type { MatrixPort } from "../app/ports/matrix";
import type { Metrics } from "../app/ports/metrics";
import type { Scheduler } from "../app/ports/scheduler";
import type { Store } from "../app/ports/store";
import { Clearer } from "../app/reconcile/clearer";
import { FalsePositives } from "../app/reconcile/false-positives";
import { Judge } from "../app/reconcile/judge";
import { Orphans } from "../app/reconcile/orphans";
import { Reconciler } from "../app/reconcile/reconciler";
import { RoomAccessCache } from "../app/reconcile/room-access";
import { Resync } from "../app/resync";
import type { ServerClockOffset } from "../app/server-clock";
import { DeploymentDirectory } from "../app/sfu/deployments";
import { SfuService } from "../app/sfu/sfu-service";
import { CallState } from "../app/state/call-state";

export interface AppDeps {
  readonly config: Config;
  readonly store: Store;
  readonly matrix: MatrixPort;
  readonly livekit: LiveKitPort;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly isLocalUser: (userId: string) => boolean;
  /** The estimate of the homeserver's clock (the HTTP adapter feeds it too). */
  readonly serverClock: ServerClockOffset;
  /** The bot's encrypted device, once it runs (absent: encrypted rooms get a notice only). */
  readonly crypto?: CryptoSource;
}

export type App = ReturnType<typeof buildApp>;

/**
 * Builds the app graph, each part after what it uses; the service and the tests' harness both call this (tests
 * replace the ports in `AppDeps`, never the wiring).
 */
export function buildApp(d: AppDeps) {
  const { config, store, matrix, clock, metrics, serverClock, isLocalUser } = d;
  const rc = config.reconciliation;
  const log = (component: string): Logger => d.logger.child({ component });
  const directory = new DeploymentDirectory(
    config.livekit.deployments.map((dep) => ({ name: dep.name, serviceUrls: dep.service_urls })),
  );
  const sfu = new SfuService({
    directory,
    livekit: d.livekit,
    store,
    clock,
    logger: log("sfu"),
    metrics,
    options: {
      staleAfterMs: rc.sfu_view_max_age,
      retentionMs: Math.max(600_000, rc.connect_grace * 2),
    },
  });
  const state = new CallState({ store, botUserId: matrix.botUserId });
  const access = new RoomAccessCache(matrix);
  const falsePositives = new FalsePositives({
    store,
    clock,
    logger: log("false-positives"),
    metrics,
    backoffBaseMs: rc.false_positive_backoff,
    backoffMaxMs: rc.false_positive_backoff_max,
  });
  const clearer = new Clearer({
    matrix,
    sfu,
    state,
    access,
    serverClock,
    store,
    clock,
    logger: log("clearer"),
    metrics,
    falsePositives,
    options: {
      dryRun: rc.dry_run,
      actions: {
        fireDelayedLeave: rc.actions.fire_delayed_leave,
        writeAsUser: rc.actions.write_as_user,
        writeAsBot: rc.actions.write_as_bot,
      },
      concurrency: rc.clear_concurrency,
      isLocalUser,
    },
  });
  const judge = new Judge({
    state,
    sfu,
    serverClock,
    store,
    logger: log("judge"),
    metrics,
    policy: {
      sfuLeaveGraceMs: rc.sfu_leave_grace,
      clientLeaveGraceMs: rc.client_leave_grace,
      connectGraceMs: rc.connect_grace,
      expiry: { maxAgeWithoutExpiry: rc.max_age_without_expiry === 0 ? null : rc.max_age_without_expiry },
    },
    falsePositives,
  });
  const orphans = new Orphans({
    sfu,
    store,
    clock,
    logger: log("orphans"),
    options: {
      graceMs: rc.orphan_participant_grace,
      remove: rc.actions.remove_orphan_participants,
      dryRun: rc.dry_run,
    },
  });
  const reconciler = new Reconciler({
    state,
    judge,
    clearer,
    sfu,
    falsePositives,
    scheduler: d.scheduler,
    clock,
    logger: log("reconciler"),
    metrics,
    batch: (fn) => store.transaction(fn),
    orphans,
  });
  const queries = new CommandQueries({ state, reconciler, sfu, store, clearer });
  const table = commandTable({
    prefix: config.commands.prefix,
    queries,
    clearer,
    sfu,
    state,
    dryRun: rc.dry_run,
  });
  // The one cycle, bound late on purpose: a resync first drains the intake, and the intake starts resyncs (a
  // room the bot joined, a room's first call event). So the resync (built before the intake) reaches the intake
  // through `drainIntake`, set below before buildApp returns; a resync only drains on a later turn.
  let drainIntake: (() => void) | null = null;
  const resync = new Resync({
    matrix,
    state,
    reconciler,
    store,
    clock,
    logger: log("resync"),
    isLocalUser,
    drainPending: () => {
      if (drainIntake === null) throw new Error("the app is still being built");
      drainIntake();
    },
  });
  const bot = new Bot({
    table,
    matrix,
    access,
    store,
    clock,
    logger: log("bot"),
    metrics,
    options: {
      prefix: config.commands.prefix,
      admins: config.commands.admins,
      moderatorLevel: config.commands.moderator_power_level,
      acceptInvitesFrom: config.commands.accept_invites_from,
      ratePerMinute: config.commands.rate_limit_per_minute,
      domain: config.homeserver.domain,
      maxCommandAgeMs: config.commands.max_command_age,
      keyWaitMs: config.encryption.key_wait,
    },
    ...(d.crypto ? { crypto: d.crypto } : {}),
    onJoined: async (roomId) => {
      await resync.room(roomId);
      reconciler.flush();
    },
  });
  const encryptedMemberships = new EncryptedMemberships({
    crypto: d.crypto ?? { current: () => null },
    state,
    reconciler,
    store,
    clock,
    logger: log("encrypted-memberships"),
    metrics,
    keyWaitMs: config.encryption.key_wait,
    botUserId: matrix.botUserId,
  });
  const router = new EventRouter({
    state,
    reconciler,
    access,
    clock,
    logger: log("intake"),
    metrics,
    botUserId: matrix.botUserId,
    bot,
    readEncrypted: (event, roomId, receivedAt) => {
      encryptedMemberships.read(event, roomId, receivedAt);
    },
    readRoomState: (roomId) => {
      resync.readFirst(roomId);
    },
  });
  const intake = new MatrixIntake({
    store,
    clock,
    logger: log("intake"),
    metrics,
    handler: router,
    filter: new FollowFilter({
      followed: (roomId) => state.room(roomId) !== undefined,
      botUserId: matrix.botUserId,
      bot,
    }),
  });
  drainIntake = () => {
    intake.drain();
  };
  /** Forgets the rooms whose calls ended `rooms.evict_after` ago (the service runs it once a minute). */
  const evictIdle = (now: number): string[] => {
    const evicted = state.evictIdle(now, config.rooms.evict_after);
    // What the bot may do in a room is read again when the room comes back.
    for (const roomId of evicted) access.invalidate(roomId);
    return evicted;
  };
  return {
    directory,
    sfu,
    state,
    access,
    falsePositives,
    clearer,
    judge,
    orphans,
    reconciler,
    queries,
    table,
    bot,
    encryptedMemberships,
    router,
    intake,
    resync,
    evictIdle,
  };
}
