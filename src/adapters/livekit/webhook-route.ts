// LiveKit's webhook route on the appservice listener: header checks, a size-limited raw body, signature and body-hash
// check, dedupe, an immediate 2xx, and asynchronous processing of the verified event.
import type { Application, Request, Response } from "express";
import { createHash } from "node:crypto";
import { TokenVerifier, WebhookReceiver, type WebhookEvent } from "livekit-server-sdk";
import type { Logger } from "../../app/ports/logger";
import type { Metrics } from "../../app/ports/metrics";
import type { SfuWebhookSignal } from "../../app/sfu/sfu-service";
import { BodyError, readBody } from "../http/body";

/** LiveKit's DisconnectReason numbers (livekit_models.proto), named for logs and history. */
const DISCONNECT_REASONS = [
  "UNKNOWN_REASON",
  "CLIENT_INITIATED",
  "DUPLICATE_IDENTITY",
  "SERVER_SHUTDOWN",
  "PARTICIPANT_REMOVED",
  "ROOM_DELETED",
  "STATE_MISMATCH",
  "JOIN_FAILURE",
  "MIGRATION",
  "SIGNAL_CLOSE",
  "ROOM_CLOSED",
  "USER_UNAVAILABLE",
  "USER_REJECTED",
  "SIP_TRUNK_FAILURE",
  "CONNECTION_TIMEOUT",
  "MEDIA_FAILURE",
  "AGENT_ERROR",
] as const;

/** A verified LiveKit webhook, reduced to what the reconciler uses, with LiveKit's own timestamp. Times in ms. */
export interface SfuWebhook extends SfuWebhookSignal {
  /** LiveKit's own timestamp of the event. */
  readonly createdAt: number;
}

export interface WebhookSigner {
  readonly deployment: string;
  readonly apiKey: string;
  readonly apiSecret: string;
}

export interface WebhookRouteOptions {
  readonly path: string;
  readonly maxBodyBytes: number;
  /** Allowed difference between LiveKit's clock and ours for the token's nbf/exp, in ms. */
  readonly clockToleranceMs: number;
  readonly signers: readonly WebhookSigner[];
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** True the first time an id is seen (durable dedupe), false for a repeat. */
  readonly firstSighting: (id: string) => boolean;
  /** Called after the 2xx has been sent. */
  readonly onWebhook: (hook: SfuWebhook) => void;
}

/** Reads the JWT's issuer (the API key) without trusting it: it only selects which secret verifies. */
function issuerOf(token: string): string | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { iss?: unknown };
    return typeof claims.iss === "string" ? claims.iss : null;
  } catch {
    return null;
  }
}

export function toSfuWebhook(deployment: string, event: WebhookEvent, receivedAt: number): SfuWebhook {
  const p = event.participant;
  const code: number = p ? p.disconnectReason : 0;
  const names: readonly string[] = DISCONNECT_REASONS;
  const reason = code === 0 ? null : (names[code] ?? `REASON_${code}`);
  return {
    id: event.id,
    deployment,
    event: event.event,
    room: event.room?.name || null,
    // Protobuf fills absent strings with "": an empty identity or sid is no participant at all.
    identity: p?.identity || null,
    sid: p?.sid || null,
    disconnectReason: reason,
    createdAt: Number(event.createdAt) * 1000,
    receivedAt,
  };
}

/**
 * Mounts the route. Every refusal answers with a status LiveKit will not retry forever (4xx); the headers are
 * checked (content type, a token from a key this service holds) before the body is read, and the body is read
 * up to `maxBodyBytes` only. A failure past the checks (e.g. the database) answers 500 and is logged.
 */
export function mountWebhookRoute(app: Application, opts: WebhookRouteOptions): void {
  const receivers = new Map(
    opts.signers.map((s) => [
      s.apiKey,
      {
        deployment: s.deployment,
        receiver: new WebhookReceiver(s.apiKey, s.apiSecret),
        verifier: new TokenVerifier(s.apiKey, s.apiSecret),
      },
    ]),
  );
  type Signer = NonNullable<ReturnType<typeof receivers.get>>;
  const log = opts.logger.child({ component: "livekit-webhook" });
  const refuse = (
    res: Response,
    status: number,
    outcome: "bad_signature" | "too_large" | "bad_request",
    why: string,
  ) => {
    opts.metrics.webhook("unknown", outcome);
    log.warn("webhook refused", { status, reason: why });
    res.status(status).json({ error: why });
  };

  /** Everything after the header checks: read, verify, dedupe, answer, then hand the webhook on. */
  const accept = async (req: Request, res: Response, signer: Signer, token: string): Promise<void> => {
    // The token's signature and validity first: its API key is no secret (it is in every access token LiveKit
    // hands out), so only a verified token may make us read and hash a body of up to the limit.
    let claims: { sha256?: string };
    try {
      claims = await signer.verifier.verify(token, Math.ceil(opts.clockToleranceMs / 1000));
    } catch (err) {
      refuse(res, 401, "bad_signature", err instanceof Error ? err.message : String(err));
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, opts.maxBodyBytes);
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      refuse(res, err.status, err.status === 413 ? "too_large" : "bad_request", err.message);
      return;
    }
    const receivedAt = opts.now();
    if (body.length === 0) {
      refuse(res, 400, "bad_request", "empty body");
      return;
    }
    // Then the body against the token's hash (401), then the event itself (400).
    if (claims.sha256 !== createHash("sha256").update(body).digest("base64")) {
      refuse(res, 401, "bad_signature", "sha256 checksum of body does not match");
      return;
    }
    let event: WebhookEvent;
    try {
      event = await signer.receiver.receive(body.toString("utf8"), token, true);
    } catch (err) {
      refuse(
        res,
        400,
        "bad_request",
        `not a webhook event: ${err instanceof Error ? err.message : String(err)}`,
      );
      return;
    }
    const hook = toSfuWebhook(signer.deployment, event, receivedAt);
    if (!hook.id) {
      refuse(res, 400, "bad_request", "webhook without id");
      return;
    }
    if (!opts.firstSighting(hook.id)) {
      opts.metrics.webhook(hook.event, "duplicate");
      res.status(200).json({ duplicate: true });
      return;
    }
    opts.metrics.webhook(hook.event, "accepted");
    res.status(200).json({});
    setImmediate(() => {
      try {
        opts.onWebhook(hook);
      } catch (err) {
        log.error("webhook could not be processed", { id: hook.id, event: hook.event, error: err });
      }
    });
  };

  app.post(opts.path, (req: Request, res: Response) => {
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/webhook+json") {
      refuse(
        res,
        415,
        "bad_request",
        `content type must be application/webhook+json, not ${type || "(none)"}`,
      );
      return;
    }
    const auth = req.headers.authorization;
    if (!auth) {
      refuse(res, 401, "bad_signature", "no Authorization header");
      return;
    }
    const token = auth.replace(/^Bearer\s+/i, "");
    const issuer = issuerOf(token);
    const signer = issuer === null ? undefined : receivers.get(issuer);
    if (!signer) {
      refuse(res, 401, "bad_signature", "signed with a key this service does not hold");
      return;
    }
    accept(req, res, signer, token).catch((err: unknown) => {
      // E.g. the database failed while recording the id: LiveKit may retry; the process carries on.
      log.error("webhook could not be recorded", { error: err });
      if (!res.headersSent) res.status(500).json({ error: "the webhook could not be recorded" });
    });
  });
}

/** Checks the JWT (LiveKit signs it with the key's secret) and that its sha256 claim is the body's hash. */
