// Builds the service from a validated config and registration, starts it in order, and stops it cleanly.
import type { Config } from "../config/schema";
import type { Logger } from "../app/ports/logger";
import { MetricsServer } from "../adapters/http/metrics-server";
import { LiveKitApiClient } from "../adapters/livekit/api-client";
import { mountWebhookRoute } from "../adapters/livekit/webhook-route";
import { AppserviceListener } from "../adapters/matrix/appservice";
import { Homeserver } from "../adapters/matrix/homeserver";
import { MatrixHttp } from "../adapters/matrix/http";
import { type Registration, userNamespaceMatcher } from "../adapters/matrix/registration";
import { checkHomeserver } from "../adapters/matrix/startup-check";
import { advertisedServiceUrls } from "../adapters/matrix/transports";
import { PrometheusMetrics } from "../adapters/metrics/prometheus";
import { SqliteStore } from "../adapters/sqlite/store";
import { systemClock } from "../adapters/system/clock";
import { CronScheduler } from "../adapters/system/cron-scheduler";
import { ServerClockOffset } from "../app/server-clock";
import { normaliseServiceUrl } from "../app/sfu/deployments";
import { type App, buildApp } from "./wiring";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const WEBHOOK_ID_TTL_MS = 86_400_000;

export interface ServiceOptions {
  readonly config: Config;
  readonly registration: Registration;
  readonly logger: Logger;
}

/** The running service. `start()` resolves once it is ready; `stop()` undoes everything start did. */
export class Service {
  private ready = false;
  private readonly stack: (() => Promise<void> | void)[] = [];
  readonly metrics = new PrometheusMetrics();
  readonly http: MatrixHttp;
  readonly store: SqliteStore;
  readonly app: App;
  private readonly listener: AppserviceListener;
  private readonly scheduler: CronScheduler;
  metricsPort: number | null = null;

  constructor(private readonly opts: ServiceOptions) {
    const { config, registration, logger } = opts;
    const serverClock = new ServerClockOffset(logger.child({ component: "server-clock" }));
    this.http = new MatrixHttp({
      baseUrl: config.homeserver.url,
      accessToken: registration.as_token,
      logger,
      now: () => systemClock.now(),
      // The homeserver's Date headers are the only source of its clock (never an event's origin_server_ts).
      onServerDate: (serverMs, receivedAt) => {
        serverClock.observe(serverMs, receivedAt);
      },
    });
    const { store, migratedFrom, version } = SqliteStore.open(config.database.path);
    this.store = store;
    if (migratedFrom !== version)
      logger.info("database migrated", { path: config.database.path, from: migratedFrom, to: version });
    const botUserId = `@${registration.sender_localpart}:${config.homeserver.domain}`;
    const inNamespace = userNamespaceMatcher(registration);
    const suffix = `:${config.homeserver.domain}`;
    this.scheduler = new CronScheduler(logger.child({ component: "scheduler" }));
    this.app = buildApp({
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
      serverClock,
    });
    const signers = config.livekit.deployments.flatMap((d) => [
      { deployment: d.name, apiKey: d.api_key, apiSecret: d.api_secret },
      ...d.webhook_keys.flatMap((key) => {
        const secret = d.webhook_secrets[key];
        return secret === undefined ? [] : [{ deployment: d.name, apiKey: key, apiSecret: secret }];
      }),
    ]);
    this.listener = new AppserviceListener({
      registration,
      domain: config.homeserver.domain,
      bindAddress: config.appservice.bind_address,
      port: config.appservice.port,
      logger,
      isReady: () => this.ready,
      onEvent: (event) => {
        this.app.intake.accept(event);
      },
      atomically: (run) => {
        this.store.transaction(run);
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
          firstSighting: (id) => this.store.firstWebhookSighting(id, systemClock.now() + WEBHOOK_ID_TTL_MS),
          onWebhook: (hook) => {
            this.app.reconciler.onWebhook(hook);
          },
        });
      },
    });
  }

  isReady(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    const { config, registration, logger } = this.opts;
    this.stack.push(() => {
      this.store.close();
    });
    this.app.state.restore();
    this.app.sfu.restore();
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
    this.stack.push(() => this.app.reconciler.stop());
    this.stack.push(() => this.scheduler.stop());
    await this.listener.start();
    this.stack.push(() => this.listener.stop());
    const facts = await checkHomeserver({
      http: this.http,
      homeserverUrl: config.homeserver.url,
      registrationId: registration.id,
      botUserId: `@${registration.sender_localpart}:${config.homeserver.domain}`,
      appserviceUrl: registration.url,
      logger,
      timeoutMs: config.homeserver.startup_timeout,
      now: () => systemClock.now(),
      sleep,
    });
    logger.info("homeserver checked", {
      versions: facts.versions.slice(-3),
      ping_ms: facts.pingMs,
      delayed_events: facts.unstableFeatures["org.matrix.msc4140"] === true,
    });
    await this.compareTransports();
    this.app.intake.drain();
    await this.app.sfu.pollAll();
    const report = await this.app.resync.all();
    logger.info("resynced rooms", {
      rooms: report.rooms,
      synced: report.synced,
      unreadable: report.unreadable.length,
    });
    await this.app.reconciler.recheckAll();
    await this.app.reconciler.settled();
    this.schedule();
    this.ready = true;
    logger.info("ready", {
      dry_run: config.reconciliation.dry_run,
      deployments: this.app.directory.names(),
      rooms: this.app.state.roomCount,
    });
  }

  private schedule(): void {
    const { config } = this.opts;
    const { reconciler, sfu, resync } = this.app;
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
    this.scheduler.every("retention", config.schedules.retention, () => {
      const now = systemClock.now();
      const keep = config.history.retention;
      const removed = this.store.prune(keep === 0 ? 0 : now - keep, now);
      this.opts.logger.info("retention: pruned old history", { rows: removed });
      return Promise.resolve();
    });
  }

  /** Warns when the homeserver advertises SFUs we hold no keys for, or ours are not advertised. */
  private async compareTransports(): Promise<void> {
    const advertised = await advertisedServiceUrls(this.http);
    const ours = new Set(this.app.directory.serviceUrls());
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
