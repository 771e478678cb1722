// Builds the service from a validated config and registration, starts it in order, and stops it cleanly.
import type { Config } from "../config/schema";
import type { Logger } from "../app/ports/logger";
import { AppserviceListener } from "../adapters/matrix/appservice";
import { MatrixHttp } from "../adapters/matrix/http";
import type { Registration } from "../adapters/matrix/registration";
import { checkHomeserver } from "../adapters/matrix/startup-check";
import { MetricsServer } from "../adapters/http/metrics-server";
import { PrometheusMetrics } from "../adapters/metrics/prometheus";
import { systemClock } from "../adapters/system/clock";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
  readonly listener: AppserviceListener;
  readonly http: MatrixHttp;
  metricsPort: number | null = null;

  constructor(private readonly opts: ServiceOptions) {
    const { config, registration, logger } = opts;
    this.http = new MatrixHttp({
      baseUrl: config.homeserver.url,
      accessToken: registration.as_token,
      logger,
    });
    this.listener = new AppserviceListener({
      registration,
      homeserverUrl: config.homeserver.url,
      domain: config.homeserver.domain,
      bindAddress: config.appservice.bind_address,
      port: config.appservice.port,
      logger,
      isReady: () => this.ready,
      onEvent: (event) => {
        this.onMatrixEvent(event);
      },
    });
  }

  isReady(): boolean {
    return this.ready;
  }

  private onMatrixEvent(event: unknown): void {
    const e = typeof event === "object" && event !== null ? (event as Record<string, unknown>) : {};
    this.opts.logger.debug("matrix event received", {
      event_id: e.event_id,
      type: e.type,
      room_id: e.room_id,
      sender: e.sender,
      state_key: e.state_key,
      content: e.content,
    });
    this.metrics.matrixEvent(typeof e.type === "string" ? e.type : "unknown", "ignored");
  }

  async start(): Promise<void> {
    const { config, registration, logger } = this.opts;
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
    await this.listener.start();
    this.stack.push(() => this.listener.stop());
    const facts = await checkHomeserver({
      http: this.http,
      homeserverUrl: config.homeserver.url,
      registrationId: registration.id,
      botUserId: this.listener.botUserId,
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
    this.ready = true;
    logger.info("ready", { dry_run: config.reconciliation.dry_run });
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
