// The appservice HTTP listener: the homeserver's routes, /health, /ready, extra routes (LiveKit's webhook), and
// Matrix JSON errors for everything else. No body is read before its route and that route's authentication are
// known; each route reads its body itself, up to its own limit.
import { createServer, type Server } from "node:http";
import express, { type Application, type NextFunction, type Request, type Response } from "express";
import type { Logger } from "../../app/ports/logger";
import { mountAppserviceRoutes } from "../http/appservice-routes";
import { sendMatrixError } from "../http/matrix-errors";
import type { Registration } from "./registration";

export interface AppserviceListenerOptions {
  readonly registration: Registration;
  readonly domain: string;
  readonly bindAddress: string;
  readonly port: number;
  readonly logger: Logger;
  /** Called synchronously for every event of a transaction, before the homeserver gets its 200. */
  readonly onEvent: (event: unknown) => void;
  /**
   * Runs one whole transaction's `onEvent` calls as a unit (e.g. one database transaction); the homeserver gets
   * its 200 only after it returns true, and a 500 (so it retries) when it throws. False: nothing was run, the store
   * cannot take writes at this instant; it is asked again a moment later.
   */
  readonly atomically?: (run: () => void) => boolean;
  /** Told of every transaction request: accepted, or refused for a token other than our hs_token. */
  readonly onTransaction?: (accepted: boolean) => void;
  /** Told each newly kept transaction's whole body (to-device messages, device lists, key counts). */
  readonly onTransactionBody?: (body: Record<string, unknown>) => void;
  readonly isReady: () => boolean;
  /** Adds routes that need no hs_token (e.g. LiveKit's webhook, which carries its own signature). */
  readonly extraRoutes?: (app: Application) => void;
}

/** Owns the HTTP server and its express app. Start after the consumers of `onEvent` are ready. */
export class AppserviceListener {
  private server: Server | null = null;
  readonly botUserId: string;

  constructor(private readonly opts: AppserviceListenerOptions) {
    this.botUserId = `@${opts.registration.sender_localpart}:${opts.domain}`;
  }

  private buildApp(): Application {
    const { logger } = this.opts;
    const app = express();
    app.disable("x-powered-by");
    app.use((req: Request, res: Response, next: NextFunction) => {
      const started = performance.now();
      res.on("finish", () => {
        // The path only: a query string could carry a token.
        logger.debug("http request", {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        });
      });
      next();
    });
    app.get("/health", (_req: Request, res: Response) => {
      res.type("text/plain").send("OK");
    });
    app.get("/ready", (_req: Request, res: Response) => {
      const ready = this.opts.isReady();
      res.status(ready ? 200 : 503).json({ ready });
    });
    mountAppserviceRoutes(app, {
      hsToken: this.opts.registration.hs_token,
      logger,
      onEvent: this.opts.onEvent,
      onTransaction: (accepted) => this.opts.onTransaction?.(accepted),
      ...(this.opts.onTransactionBody ? { onTransactionBody: this.opts.onTransactionBody } : {}),
      atomically:
        this.opts.atomically ??
        ((run) => {
          run();
          return true;
        }),
    });
    this.opts.extraRoutes?.(app);
    app.use((_req: Request, res: Response) => {
      sendMatrixError(res, 404, "M_UNRECOGNIZED", "unknown endpoint");
    });
    // Last in the chain: whatever a route let escape is a Matrix error in JSON, never an HTML page with a stack.
    app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) {
        next(err);
        return;
      }
      logger.error("request failed", { method: req.method, path: req.path, error: err });
      sendMatrixError(res, 500, "M_UNKNOWN", "internal error");
    });
    return app;
  }

  async start(): Promise<void> {
    const { logger, port, bindAddress } = this.opts;
    const server = createServer(this.buildApp());
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, bindAddress, 511, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    logger.info("appservice listener started", { address: bindAddress, port, bot: this.botUserId });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeIdleConnections();
    });
  }
}
