// The appservice HTTP listener (matrix-appservice-bridge): transactions, user queries, ping, /health, /ready, extra routes.
import type { Application, NextFunction, Request, Response } from "express";
import {
  AppService,
  AppServiceRegistration,
  AppserviceHttpError,
  Bridge,
  type Request as BridgeRequest,
  type WeakEvent,
} from "matrix-appservice-bridge";
import type { Logger } from "../../app/ports/logger";
import type { Registration } from "./registration";

type TransactionHandler = (this: AppService, req: Request, res: Response) => void;

/**
 * An AppService whose transaction handler runs inside `atomically` and answers only after it returned: the
 * library acknowledges a transaction before its events are handled, which could lose events on a crash.
 * The library binds its handler in the constructor, so a subclass method is what the route calls.
 */
function journalingAppService(
  atomically: (run: () => void) => void,
  logger: Logger,
  observe: (accepted: boolean) => void,
): typeof AppService {
  const original: unknown = Reflect.get(AppService.prototype, "onTransaction");
  if (typeof original !== "function")
    throw new Error("matrix-appservice changed: AppService.onTransaction is missing");
  const handle = original as TransactionHandler;
  class JournalingAppService extends AppService {}
  Object.defineProperty(JournalingAppService.prototype, "onTransaction", {
    value: function onTransaction(this: AppService, req: Request, res: Response): void {
      const send = res.send.bind(res);
      const reply: { sent: boolean; body?: unknown } = { sent: false };
      res.send = (body?: unknown) => {
        reply.sent = true;
        reply.body = body;
        return res;
      };
      try {
        atomically(() => {
          handle.call(this, req, res);
        });
      } catch (err) {
        res.send = send;
        logger.error("transaction could not be journaled; the homeserver will retry it", { error: err });
        res.status(500).json({ errcode: "M_UNKNOWN", error: "could not store the transaction" });
        return;
      }
      res.send = send;
      // The library answers 403 to a transaction whose token is not our hs_token.
      observe(res.statusCode !== 403);
      if (reply.sent) send(reply.body);
    },
  });
  return JournalingAppService;
}

export interface AppserviceListenerOptions {
  readonly registration: Registration;
  readonly homeserverUrl: string;
  readonly domain: string;
  readonly bindAddress: string;
  readonly port: number;
  readonly logger: Logger;
  /** Called synchronously for every event of an accepted transaction, before the homeserver gets its 200. */
  readonly onEvent: (event: unknown) => void;
  /**
   * Runs one whole transaction's `onEvent` calls as a unit (e.g. one database transaction); the homeserver gets
   * its 200 only after it returns, and a 500 (so it retries) when it throws.
   */
  readonly atomically?: (run: () => void) => void;
  /** Told of every transaction request: accepted, or refused for a token other than our hs_token. */
  readonly onTransaction?: (accepted: boolean) => void;
  readonly isReady: () => boolean;
  /** Adds routes that need no hs_token (e.g. LiveKit's webhook, which carries its own signature). */
  readonly extraRoutes?: (app: Application) => void;
  readonly maxBodyBytes?: number;
}

/** Owns the bridge and its express app. Start after the consumers of `onEvent` are ready. */
export class AppserviceListener {
  private bridge: Bridge | null = null;
  readonly botUserId: string;

  constructor(private readonly opts: AppserviceListenerOptions) {
    this.botUserId = `@${opts.registration.sender_localpart}:${opts.domain}`;
  }

  async start(): Promise<void> {
    const { registration, logger } = this.opts;
    const reg = AppServiceRegistration.fromObject({
      id: registration.id,
      url: registration.url,
      as_token: registration.as_token,
      hs_token: registration.hs_token,
      sender_localpart: registration.sender_localpart,
      rate_limited: registration.rate_limited ?? false,
      "de.sorunome.msc2409.push_ephemeral": registration["de.sorunome.msc2409.push_ephemeral"] ?? false,
      namespaces: registration.namespaces,
    });
    const bridge = new Bridge({
      registration: reg,
      homeserverUrl: this.opts.homeserverUrl,
      domain: this.opts.domain,
      disableStores: true,
      disableContext: true,
      // Every local user is in our (non-exclusive) namespace; their membership events are exactly what we follow.
      suppressEcho: false,
      logRequestOutcome: false,
      controller: {
        onEvent: (request: BridgeRequest<WeakEvent>) => {
          // Events are taken from the transaction itself (see onEvent above); the bridge's queue only needs closing.
          request.resolve(undefined);
        },
        onUserQuery: () => {
          // We provision no users: answering 200 would make Synapse believe a queried user exists.
          throw new AppserviceHttpError({ errcode: "M_NOT_FOUND", error: "No such user" }, 404);
        },
        onLog: (line: string, isError: boolean) => {
          if (isError) logger.warn(line, { component: "bridge" });
          else logger.debug(line, { component: "bridge" });
        },
      },
    });
    await bridge.initialise();
    const appService = new (journalingAppService(
      this.opts.atomically ??
        ((run) => {
          run();
        }),
      logger,
      (accepted) => this.opts.onTransaction?.(accepted),
    ))({
      homeserverToken: registration.hs_token,
      httpMaxSizeBytes: this.opts.maxBodyBytes ?? 10_000_000,
    });
    // Registered before the bridge's own listener: runs synchronously inside the transaction handler.
    appService.on("event", (event: unknown) => {
      this.opts.onEvent(event);
    });
    const app = appService.expressApp;
    app.get("/ready", (_req: Request, res: Response) => {
      const ready = this.opts.isReady();
      res.status(ready ? 200 : 503).json({ ready });
    });
    this.opts.extraRoutes?.(app);
    await bridge.listen(this.opts.port, this.opts.bindAddress, 511, appService);
    // Last in the chain: requests the library's parsers refuse (not JSON, too large) get a Matrix error in JSON,
    // never the framework's HTML page with a stack trace.
    app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) {
        next(err);
        return;
      }
      const status = typeof err === "object" && err !== null && "status" in err ? Number(err.status) : 500;
      const code = status === 413 ? "M_TOO_LARGE" : status === 400 ? "M_NOT_JSON" : "M_UNKNOWN";
      logger.warn("request refused", { status, errcode: code });
      res
        .status(status >= 400 && status < 600 ? status : 500)
        .json({ errcode: code, error: "request refused" });
    });
    bridge.addAppServicePath({
      method: "POST",
      path: "/_matrix/app/v1/ping",
      authenticate: true,
      handler: (_req: Request, res: Response) => {
        res.status(200).json({});
      },
    });
    this.bridge = bridge;
    logger.info("appservice listener started", {
      address: this.opts.bindAddress,
      port: this.opts.port,
      bot: this.botUserId,
    });
  }

  async stop(): Promise<void> {
    const bridge = this.bridge;
    this.bridge = null;
    if (bridge) await bridge.close();
  }
}
