// Builds the app (call state, SFU view, judge, clearer, reconciler, intake, bot) from the config and adapters.
import type { Config } from "../config/schema";
import { Bot } from "../app/commands/bot";
import { CommandQueries } from "../app/commands/queries";
import { commandTable } from "../app/commands/table";
import { EventRouter } from "../app/intake/event-router";
import { MatrixIntake } from "../app/intake/matrix-intake";
import { intakeFilter } from "../app/intake/wanted";
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

export function buildApp(d: AppDeps) {
  const { config, store, matrix, clock, logger, metrics } = d;
  const rc = config.reconciliation;
  const directory = new DeploymentDirectory(
    config.livekit.deployments.map((dep) => ({ name: dep.name, serviceUrls: dep.service_urls })),
  );
  const sfu = new SfuService(
    directory,
    d.livekit,
    store,
    clock,
    logger.child({ component: "sfu" }),
    metrics,
    {
      staleAfterMs: rc.sfu_view_max_age,
      retentionMs: Math.max(600_000, rc.connect_grace * 2),
    },
  );
  const state = new CallState(store);
  const { serverClock } = d;
  const access = new RoomAccessCache(matrix);
  const clearer = new Clearer(
    matrix,
    sfu,
    state,
    access,
    serverClock,
    store,
    clock,
    logger.child({ component: "clearer" }),
    metrics,
    {
      dryRun: rc.dry_run,
      actions: {
        fireDelayedLeave: rc.actions.fire_delayed_leave,
        writeAsUser: rc.actions.write_as_user,
        writeAsBot: rc.actions.write_as_bot,
      },
      concurrency: rc.clear_concurrency,
      isLocalUser: d.isLocalUser,
    },
  );
  const falsePositives = new FalsePositives(
    clearer.recent,
    store,
    clock,
    logger.child({ component: "false-positives" }),
    metrics,
    rc.false_positive_backoff,
    rc.false_positive_backoff_max,
  );
  const judge = new Judge(
    state,
    sfu,
    serverClock,
    store,
    logger.child({ component: "judge" }),
    metrics,
    {
      sfuLeaveGraceMs: rc.sfu_leave_grace,
      clientLeaveGraceMs: rc.client_leave_grace,
      connectGraceMs: rc.connect_grace,
      expiry: { maxAgeWithoutExpiry: rc.max_age_without_expiry === 0 ? null : rc.max_age_without_expiry },
    },
    (member, now) => falsePositives.backedOff(member, now),
  );
  const reconciler = new Reconciler({
    state,
    judge,
    clearer,
    sfu,
    falsePositives,
    scheduler: d.scheduler,
    clock,
    logger: logger.child({ component: "reconciler" }),
    metrics,
    batch: (fn) => store.transaction(fn),
    orphans: new Orphans(sfu, store, clock, logger.child({ component: "orphans" }), {
      graceMs: rc.orphan_participant_grace,
      remove: rc.actions.remove_orphan_participants,
      dryRun: rc.dry_run,
    }),
  });
  const resync = new Resync({
    matrix,
    state,
    reconciler,
    store,
    clock,
    logger: logger.child({ component: "resync" }),
    isLocalUser: d.isLocalUser,
    drainPending: () => {
      intake.drain();
    },
  });
  const queries = new CommandQueries(state, reconciler, sfu, store, (m) => clearer.planFor(m));
  const table = commandTable({
    prefix: config.commands.prefix,
    queries,
    clearer,
    sfu,
    state,
    dryRun: rc.dry_run,
  });
  const bot = new Bot({
    table,
    matrix,
    access,
    store,
    clock,
    logger: logger.child({ component: "bot" }),
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
  const router = new EventRouter(
    state,
    reconciler,
    access,
    clock,
    logger.child({ component: "intake" }),
    metrics,
    matrix.botUserId,
    bot,
  );
  const intake = new MatrixIntake(
    store,
    clock,
    logger.child({ component: "intake" }),
    metrics,
    (entry) => {
      router.handle(entry);
    },
    () => {
      router.afterBatch();
    },
    intakeFilter(bot),
  );
  return { directory, sfu, state, clearer, judge, reconciler, resync, intake, bot, table };
}
