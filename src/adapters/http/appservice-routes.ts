// The homeserver → appservice API (spec v1.x): transactions, ping, user and alias queries. Each route checks the
// hs_token before it reads a byte of the body, then reads at most its own limit.
//
// Concurrency: a transaction's body is read asynchronously (reads of several requests interleave); it is then
// handled in one synchronous step: every event goes to `onEvent` inside `atomically`, and the 200 is sent only
// after `atomically` returned, i.e. after the journal committed. Handling never interleaves. While the database's
// write lock is taken (the checkpointer restarting the log), `atomically` runs nothing and the step is tried again
// a moment later, without holding the event loop. The same transaction arriving twice at once is harmless: the
// journal is idempotent by event id.
import type { Application, Request, RequestHandler, Response } from "express";
import type { Logger } from "../../app/ports/logger";
import { bearerChecker } from "./bearer-token";
import { parseJsonBody, readBody } from "./body";
import { bodyRefusal, type MatrixErrcode, sendMatrixError } from "./matrix-errors";

/**
 * The largest transaction body read. Synapse puts at most 100 PDUs and 100 EDUs (and 100 to-device messages,
 * which this service does not ask for) in a transaction. A PDU is at most 64 KiB of canonical JSON; in the client
 * format a transaction carries, the homeserver adds `unsigned`, which can hold a state event's previous content
 * (`prev_content`, up to 64 KiB) and the redaction that emptied it (`redacted_because`, up to 64 KiB): about
 * 3 × 64 KiB per event. 100 × 192 KiB + 100 EDUs of up to 64 KiB ≈ 25 MiB; 64 MiB leaves more than twice that,
 * so no legitimate transaction is refused (a refused one is retried forever and would wedge the appservice).
 * Only a caller holding the hs_token gets this far.
 */
export const TRANSACTION_MAX_BYTES = 64 * 1024 * 1024;
/** A ping carries `{"transaction_id": "..."}`. */
const PING_MAX_BYTES = 64 * 1024;
/** How soon a transaction the store could not take yet is tried again, and for how long before it fails (500). */
const STORE_RETRY_MS = 2;
const STORE_WAIT_MS = 5_000;

export interface AppserviceRoutesOptions {
  readonly hsToken: string;
  readonly logger: Logger;
  /** Called synchronously for every entry of a transaction's `events`, inside `atomically`. */
  readonly onEvent: (event: unknown) => void;
  /**
   * Runs a transaction's `onEvent` calls as one unit; throwing means nothing of it was kept. False: not run yet,
   * the store cannot take writes at this instant; it is asked again a moment later.
   */
  readonly atomically: (run: () => void) => boolean;
  /** Told of every transaction request: accepted, or refused for a wrong token (a wrong `hs_token` setting). */
  readonly onTransaction?: (accepted: boolean) => void;
  /**
   * Told a transaction's whole body once its events were kept (not for an acknowledged retry): what it carries
   * besides events (to-device messages, device lists, key counts for the bot's encrypted device). Not journaled.
   */
  readonly onTransactionBody?: (body: Record<string, unknown>) => void;
}

/**
 * The events of a transaction body, or why it is not one. A body that is not an object, or whose `events` is
 * not a list, is refused (400): there is nothing in it to keep. Entries that are not events (null, numbers,
 * lists) are not refused here: the whole transaction would be retried forever with its valid events; the
 * consumer skips them one by one (logged and counted). An absent `events` is an empty list (an EDU-only
 * transaction; EDUs are not used).
 */
function eventsOf(body: unknown): readonly unknown[] | string {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return "the body is not a JSON object";
  if (!("events" in body) || body.events === undefined) return [];
  if (!Array.isArray(body.events)) return "`events` is not a list";
  return body.events as unknown[];
}

export function mountAppserviceRoutes(app: Application, opts: AppserviceRoutesOptions): void {
  const log = opts.logger.child({ component: "appservice" });
  const check = bearerChecker(opts.hsToken);
  const refuse = (req: Request, res: Response, status: number, errcode: MatrixErrcode, why: string) => {
    log.warn("appservice request refused", {
      method: req.method,
      path: req.path,
      status,
      errcode,
      reason: why,
    });
    sendMatrixError(res, status, errcode, why);
  };

  /** 401 without credentials, 403 with wrong ones; the legacy `access_token` parameter, if sent, must match too. */
  const authenticate: RequestHandler = (req, res, next) => {
    let verdict = check(req.headers.authorization);
    const query = req.originalUrl.indexOf("?");
    const legacy = new URLSearchParams(query < 0 ? "" : req.originalUrl.slice(query + 1)).getAll(
      "access_token",
    );
    if (verdict === "ok" && legacy.some((token) => check(`Bearer ${token}`) !== "ok")) verdict = "wrong";
    if (verdict === "missing") refuse(req, res, 401, "M_UNAUTHORIZED", "no Authorization: Bearer header");
    else if (verdict === "wrong") refuse(req, res, 403, "M_FORBIDDEN", "bad token supplied");
    else next();
  };

  /** Reads and parses the body (after `authenticate`), then hands it on; any failure is a Matrix error. */
  const withJson =
    (limit: number, handle: (req: Request, res: Response, body: unknown) => void): RequestHandler =>
    (req, res) => {
      readBody(req, limit)
        .then(parseJsonBody)
        .then(
          (body) => {
            handle(req, res, body);
          },
          (err: unknown) => {
            const r = bodyRefusal(err);
            refuse(req, res, r.status, r.errcode, r.error);
          },
        )
        .catch((err: unknown) => {
          log.error("appservice request failed", { method: req.method, path: req.path, error: err });
          if (!res.headersSent) sendMatrixError(res, 500, "M_UNKNOWN", "internal error");
        });
    };

  const methodNotAllowed: RequestHandler = (req, res) => {
    refuse(req, res, 405, "M_UNRECOGNIZED", `method ${req.method} is not supported here`);
  };

  // The last transaction acknowledged: its retry (our 200 was lost) is acknowledged again without handling it.
  // Only set once the journal committed. Older ids need no memory: the journal ignores events it already holds.
  let lastAcknowledged: string | null = null;
  /** Transactions the store could not take yet, oldest first: each is tried again, in order, a moment later. */
  const waiting: (() => boolean)[] = [];
  const retryWaiting = (): void => {
    while (waiting.length > 0) {
      let done = true;
      try {
        done = (waiting[0] as () => boolean)();
      } catch (err) {
        // A bug while answering: that transaction is done all the same, and must not hold the others back.
        log.error("appservice request failed", {
          method: "PUT",
          path: "/_matrix/app/v1/transactions",
          error: err,
        });
      }
      if (!done) break;
      waiting.shift();
    }
    if (waiting.length > 0) setTimeout(retryWaiting, STORE_RETRY_MS);
  };
  app
    .route("/_matrix/app/v1/transactions/:txnId")
    .put(
      (req, res, next) => {
        authenticate(req, res, next);
        if (res.statusCode === 403) opts.onTransaction?.(false);
      },
      withJson(TRANSACTION_MAX_BYTES, (req, res, body) => {
        const txnId = req.params.txnId ?? "";
        const events = eventsOf(body);
        if (typeof events === "string") {
          refuse(req, res, 400, "M_BAD_JSON", events);
          return;
        }
        opts.onTransaction?.(true);
        if (txnId === lastAcknowledged) {
          res.status(200).json({});
          return;
        }
        const since = Date.now();
        /** One attempt at journaling the transaction: false while the store cannot take it yet. */
        const attempt = (): boolean => {
          let kept: boolean;
          try {
            kept = opts.atomically(() => {
              for (const event of events) opts.onEvent(event);
            });
            if (!kept && Date.now() - since > STORE_WAIT_MS) throw new Error("the database stayed locked");
          } catch (err) {
            // Not remembered as done: the homeserver retries it, and the retry is handled in full.
            log.error("transaction could not be journaled; the homeserver will retry it", {
              txn_id: txnId,
              error: err,
            });
            sendMatrixError(res, 500, "M_UNKNOWN", "could not store the transaction");
            return true;
          }
          if (!kept) return false;
          lastAcknowledged = txnId;
          res.status(200).json({});
          try {
            opts.onTransactionBody?.(body as Record<string, unknown>);
          } catch (err) {
            log.error("transaction extras could not be handled", { txn_id: txnId, error: err });
          }
          return true;
        };
        // Behind any transaction still waiting for the store: journaled in the order they came.
        if (waiting.length === 0 && attempt()) return;
        waiting.push(attempt);
        if (waiting.length === 1) setTimeout(retryWaiting, STORE_RETRY_MS);
      }),
    )
    .all(methodNotAllowed);

  app
    .route("/_matrix/app/v1/ping")
    .post(
      authenticate,
      withJson(PING_MAX_BYTES, (_req, res) => {
        res.status(200).json({});
      }),
    )
    .all(methodNotAllowed);

  // The service provisions nobody: a 200 would make the homeserver believe a queried user or alias exists.
  const notFound: RequestHandler = (_req, res) => {
    sendMatrixError(res, 404, "M_NOT_FOUND", "not provided by this application service");
  };
  app.route("/_matrix/app/v1/users/:userId").get(authenticate, notFound).all(methodNotAllowed);
  app.route("/_matrix/app/v1/rooms/:alias").get(authenticate, notFound).all(methodNotAllowed);
}
