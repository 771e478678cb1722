// Builds the service from a validated config and registration, starts it in order, and stops it cleanly.
import type { Config } from "../config/schema";
import type { Logger } from "../app/ports/logger";
import { MetricsServer } from "../adapters/http/metrics-server";
import { BotDevice } from "../adapters/crypto/bot-device";
import { CryptoSlot } from "../adapters/crypto/slot";
import { StateFiles } from "../adapters/crypto/state-files";
import { LiveKitApiClient } from "../adapters/livekit/api-client";
import { mountWebhookRoute } from "../adapters/livekit/webhook-route";
import { AppserviceListener } from "../adapters/matrix/appservice";
import { Homeserver } from "../adapters/matrix/homeserver";
import { MatrixHttp } from "../adapters/matrix/http";
import { type Registration, userNamespaceMatcher } from "../adapters/matrix/registration";
import {
  checkHomeserverBasics,
  checkHomeserverReachesUs,
  type StartupCheckOptions,
} from "../adapters/matrix/startup-check";
import { advertisedServiceUrls } from "../adapters/matrix/transports";
import { PrometheusMetrics } from "../adapters/metrics/prometheus";
import { checkExistingDatabase } from "../adapters/sqlite/database";
import { checkpointInBackground } from "../adapters/sqlite/checkpointer";
import { SqliteStore } from "../adapters/sqlite/store";
import { systemClock } from "../adapters/system/clock";
import { CronScheduler } from "../adapters/system/cron-scheduler";
import { ServerClockOffset } from "../app/server-clock";
import { normaliseServiceUrl } from "../app/sfu/deployments";
import { HomeserverContact, QUIET_HOMESERVER_WARNING_MS } from "./homeserver-contact";
import { type App, buildApp } from "./wiring";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const WEBHOOK_ID_TTL_MS = 86_400_000;

export interface ServiceOptions {
  readonly config: Config;
  readonly registration: Registration;
  readonly logger: Logger;
  /** How long, on a homeserver without the appservice ping, to wait for a first transaction before warning. */
  readonly quietHomeserverWarningMs?: number;
}

/** What start-up builds once the homeserver has answered: the database, the app and the listener. */
interface Parts {
  readonly store: SqliteStore;
  readonly app: App;
  readonly listener: AppserviceListener;
}

/**
 * The running service. `start()` checks the homeserver first, and only then creates the database and opens its
 * ports; it resolves once the service is ready. `stop()` undoes everything start did.
 */
export class Service {
  private ready = false;
  private readonly stack: (() => Promise<void> | void)[] = [];
  readonly metrics = new PrometheusMetrics();
  readonly http: MatrixHttp;
  private readonly serverClock: ServerClockOffset;
  private readonly scheduler: CronScheduler;
  private parts: Parts | null = null;
  /** Whether the homeserver has sent us a transaction we accepted, and whether one with a wrong token was refused. */
  private readonly contact: HomeserverContact;
  private readonly crypto = new CryptoSlot();
  private device: BotDevice | null = null;
  metricsPort: number | null = null;

  constructor(private readonly opts: ServiceOptions) {
    const { config, registration, logger } = opts;
    this.serverClock = new ServerClockOffset(logger.child({ component: "server-clock" }));
    this.http = new MatrixHttp({
      baseUrl: config.homeserver.url,
      accessToken: registration.as_token,
      logger,
      now: () => systemClock.now(),
      // The homeserver's Date headers are the only source of its clock (never an event's origin_server_ts).
      onServerDate: (serverMs, receivedAt) => {
        this.serverClock.observe(serverMs, receivedAt);
      },
    });
    this.scheduler = new CronScheduler(logger.child({ component: "scheduler" }));
    this.contact = new HomeserverContact({
      logger,
      registrationUrl: registration.url,
      after: (ms, run) => {
        this.scheduler.after(ms, run);
      },
    });
  }

  /** The app ring, built by `start()`. */
  get app(): App {
    return this.built().app;
  }

  /** The database, opened by `start()`. */
  get store(): SqliteStore {
    return this.built().store;
  }

  private built(): Parts {
    if (this.parts === null) throw new Error("the service is not started: call start() first");
    return this.parts;
  }

  /** Opens the database (creating its file) and builds the app and the listener; nothing listens yet. */
  private assemble(): Parts {
    const { config, registration, logger } = this.opts;
    const { store, migratedFrom, version } = SqliteStore.open(config.database.path);
    if (migratedFrom !== version)
      logger.info("database migrated", { path: config.database.path, from: migratedFrom, to: version });
    const botUserId = `@${registration.sender_localpart}:${config.homeserver.domain}`;
    const inNamespace = userNamespaceMatcher(registration);
    const suffix = `:${config.homeserver.domain}`;
    const app = buildApp({
      config,
      store,
      matrix: new Homeserver({ http: this.http, botUserId, logger }),
      livekit: new LiveKitApiClient(
        config.livekit.deployments.map((d) => ({
          name: d.name,
          apiUrl: d.api_url,
          apiKey: d.api_key,
          apiSecret: d.api_secret,
        })),
      ),
      clock: systemClock,
      scheduler: this.scheduler,
      logger,
      metrics: this.metrics,
      isLocalUser: (userId) => userId.endsWith(suffix) && inNamespace(userId),
      serverClock: this.serverClock,
      crypto: this.crypto,
    });
    const signers = config.livekit.deployments.flatMap((d) => [
      { deployment: d.name, apiKey: d.api_key, apiSecret: d.api_secret },
      ...d.webhook_keys.flatMap((key) => {
        const secret = d.webhook_secrets[key];
        return secret === undefined ? [] : [{ deployment: d.name, apiKey: key, apiSecret: secret }];
      }),
    ]);
    const listener = new AppserviceListener({
      registration,
      domain: config.homeserver.domain,
      bindAddress: config.appservice.bind_address,
      port: config.appservice.port,
      logger,
      isReady: () => this.ready,
      onEvent: (event) => {
        app.intake.accept(event);
      },
      onTransaction: (accepted) => {
        this.contact.onTransaction(accepted);
      },
      // Without waiting for the write lock: while the checkpointer holds it, the transaction is tried again later.
      atomically: (run) => store.tryTransaction(run),
      onTransactionBody: (body) => {
        this.device?.accept(body);
      },
      extraRoutes: (express) => {
        mountWebhookRoute(express, {
          path: config.livekit.webhook_path,
          maxBodyBytes: config.livekit.webhook_max_body,
          clockToleranceMs: config.livekit.webhook_clock_tolerance,
          signers,
          logger,
          metrics: this.metrics,
          now: () => systemClock.now(),
          firstSighting: (id) => store.firstWebhookSighting(id, systemClock.now() + WEBHOOK_ID_TTL_MS),
          onWebhook: (hook) => {
            app.reconciler.onWebhook(hook);
          },
        });
      },
    });
    return { store, app, listener };
  }

  isReady(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    const { config, registration, logger } = this.opts;
    const check: StartupCheckOptions = {
      http: this.http,
      homeserverUrl: config.homeserver.url,
      registrationId: registration.id,
      botUserId: `@${registration.sender_localpart}:${config.homeserver.domain}`,
      appserviceUrl: registration.url,
      logger,
      timeoutMs: config.homeserver.startup_timeout,
      now: () => systemClock.now(),
      sleep,
    };
    // Nothing is created or opened until the homeserver answers and knows our token; a database this release
    // cannot use is refused first, without asking the homeserver anything.
    checkExistingDatabase(config.database.path);
    const basics = await checkHomeserverBasics(check);
    const parts = this.assemble();
    this.parts = parts;
    const { store, app, listener } = parts;
    this.stack.push(() => {
      store.close();
    });
    if (config.database.path !== ":memory:") {
      const stopCheckpoints = checkpointInBackground(store.db, config.database.path, (err) => {
        logger.warn("background checkpoints stopped; the service checkpoints the database itself", {
          error: err,
        });
      });
      this.stack.push(stopCheckpoints);
    }
    app.state.restore();
    app.sfu.restore();
    if (config.metrics.enabled) {
      const server = new MetricsServer(
        this.metrics.registry,
        config.metrics.bind_address,
        config.metrics.port,
      );
      this.metricsPort = await server.start();
      this.stack.push(() => server.stop());
      logger.info("metrics listener started", {
        address: config.metrics.bind_address,
        port: this.metricsPort,
      });
    }
    // Before the database closes (further down the stack): a turn of the drain queued now would find it closed.
    this.stack.push(() => {
      app.intake.stop();
    });
    this.stack.push(() => app.reconciler.stop());
    this.stack.push(() => app.resync.stop());
    this.stack.push(() => this.scheduler.stop());
    await listener.start();
    this.stack.push(() => listener.stop());
    const facts = await checkHomeserverReachesUs(check, basics);
    logger.info("homeserver checked", {
      versions: facts.versions.slice(-3),
      ping_ms: facts.pingMs,
      delayed_events: facts.unstableFeatures["org.matrix.msc4140"] === true,
    });
    if (!facts.supportsPing)
      this.contact.watchForSilence(this.opts.quietHomeserverWarningMs ?? QUIET_HOMESERVER_WARNING_MS);
    await this.compareTransports();
    await this.startEncryption();
    app.intake.drain();
    await app.sfu.pollAll();
    const report = await app.resync.all();
    logger.info("resynced rooms", {
      rooms: report.rooms,
      synced: report.synced,
      unreadable: report.unreadable.length,
    });
    await app.reconciler.recheckAll();
    await app.reconciler.settled();
    this.schedule();
    this.ready = true;
    logger.info("ready", {
      dry_run: config.reconciliation.dry_run,
      deployments: app.directory.names(),
      rooms: app.state.roomCount,
    });
  }

  /** The bot's encrypted device; without it the service runs on, and encrypted rooms get a notice only. */
  private async startEncryption(): Promise<void> {
    const { config, registration, logger } = this.opts;
    if (!config.encryption.enabled) return;
    const log = logger.child({ component: "crypto" });
    try {
      const device = await BotDevice.start({
        baseUrl: config.homeserver.url,
        botUserId: `@${registration.sender_localpart}:${config.homeserver.domain}`,
        appservice: this.http,
        httpFor: (accessToken) =>
          new MatrixHttp({
            baseUrl: config.homeserver.url,
            accessToken,
            logger: log,
            now: () => systemClock.now(),
          }),
        files: new StateFiles(config.encryption.store_path),
        logger: log,
        sleep,
        registration,
      });
      this.device = device;
      this.crypto.set(device);
      this.stack.push(async () => {
        this.crypto.set(null);
        this.device = null;
        await device.stop();
      });
      void device.probe().catch((err: unknown) => {
        log.warn("encryption: the to-device probe could not be sent", { error: String(err) });
      });
    } catch (err) {
      log.error("encryption: the bot's device could not start; encrypted rooms get a notice only", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  private schedule(): void {
    const { config } = this.opts;
    const { app } = this.built();
    const { reconciler, sfu, resync } = app;
    this.scheduler.every("sweep", config.schedules.sweep, () => {
      reconciler.sweep();
      return Promise.resolve();
    });
    this.scheduler.every("poll", config.schedules.poll, async () => {
      await sfu.pollAll();
      await reconciler.recheckAll();
    });
    this.scheduler.every("resync", config.schedules.resync, async () => {
      await resync.all();
    });
    // Once a minute: a room is found idle by one run and forgotten by a later one, `rooms.evict_after` on.
    this.scheduler.every("evict", "0 * * * * *", () => {
      const evicted = app.evictIdle(systemClock.now());
      if (evicted.length > 0)
        this.opts.logger.info("rooms without calls forgotten", {
          rooms: evicted.length,
          followed: app.state.roomCount,
        });
      return Promise.resolve();
    });
    this.scheduler.every("retention", config.schedules.retention, () => {
      const now = systemClock.now();
      const keep = config.history.retention;
      const removed = this.built().store.prune(keep === 0 ? 0 : now - keep, now);
      this.opts.logger.info("retention: pruned old history", { rows: removed });
      return Promise.resolve();
    });
  }

  /** Warns when the homeserver advertises SFUs we hold no keys for, or ours are not advertised. */
  private async compareTransports(): Promise<void> {
    const advertised = await advertisedServiceUrls(this.http);
    const ours = new Set(this.built().app.directory.serviceUrls());
    for (const [source, urls] of Object.entries(advertised)) {
      const theirs = new Set(urls.map(normaliseServiceUrl));
      const unknown = [...theirs].filter((u) => !ours.has(u));
      const missing = [...ours].filter((u) => !theirs.has(u));
      if (unknown.length > 0 || missing.length > 0) {
        this.opts.logger.warn("advertised MatrixRTC transports differ from livekit.deployments", {
          source,
          advertised_without_keys: unknown,
          configured_not_advertised: missing,
        });
      } else {
        this.opts.logger.info("advertised MatrixRTC transports match the config", {
          source,
          urls: [...theirs],
        });
      }
    }
  }

  async stop(): Promise<void> {
    this.ready = false;
    while (this.stack.length > 0) {
      const undo = this.stack.pop();
      try {
        await undo?.();
      } catch (err) {
        this.opts.logger.warn("error while stopping", { error: err });
      }
    }
  }
}
