// Posting webhooks to the hostile-input service and observing what they changed: counters, log lines, sfu_presence.
import type { RawResponse } from "../../support/keepalive-http";
import { send } from "../../support/keepalive-http";
import { LIVEKIT, WEBHOOK_PATH, type HostileService } from "../../support/hostile-service";
import { participantWebhookBody, signWebhook } from "../../support/livekit-webhook";
import { total, type Sample } from "../../support/prometheus-text";
import type { HostileWebhook } from "./webhook-requests";

export const WEBHOOKS = "rtc_reconciler_webhooks_total";
const OUTCOMES = ["accepted", "duplicate", "bad_signature", "too_large", "bad_request"] as const;

/** A stack frame as Node prints it (`at fn (/path/file.js:1:2)`), plain or HTML-escaped. */
export const STACK_FRAME = /\bat [^\n<]*\.js:\d+:\d+/;

let seq = 0;

/** A genuine participant_joined body with fresh ids. */
export function joinedBody(): { body: string; sid: string; id: string } {
  seq++;
  const sid = `PA_hostile${seq}`;
  const id = `EV_hostile${seq}`;
  const body = participantWebhookBody({
    id,
    event: "participant_joined",
    room: "lk-room",
    identity: `@alice:hostile.local:DEV${seq}`,
    sid,
  });
  return { body, sid, id };
}

export function post(
  svc: HostileService,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<RawResponse> {
  return send(svc.agent, {
    method: "POST",
    url: `${svc.base}${WEBHOOK_PATH}`,
    headers,
    body: Buffer.from(body),
  });
}

export interface Observed {
  readonly samples: Sample[];
  readonly presence: number;
  readonly webhookLines: number;
  readonly refusedLines: number;
}

export async function observe(svc: HostileService): Promise<Observed> {
  // Accepted webhooks are processed on setImmediate after the answer: let that happen before looking.
  await new Promise((r) => setTimeout(r, 20));
  return {
    samples: await svc.metrics(),
    presence: svc.query<{ n: number }>("SELECT COUNT(*) AS n FROM sfu_presence")[0]?.n ?? -1,
    webhookLines: svc.logged("LiveKit webhook").length,
    refusedLines: svc.logged("webhook refused").length,
  };
}

/** Counter increase of each webhook outcome between two observations (outcomes that did not move left out). */
export function outcomeDelta(before: Observed, after: Observed): Record<string, number> {
  const out: Record<string, number> = {};
  for (const outcome of OUTCOMES) {
    const d = total(after.samples, WEBHOOKS, { outcome }) - total(before.samples, WEBHOOKS, { outcome });
    if (d !== 0) out[outcome] = d;
  }
  return out;
}

export interface Fired {
  readonly request: HostileWebhook;
  readonly status: number;
  readonly text: string;
  readonly validlySigned: boolean;
}

/** Sends one generated request, signing it as its `signing` says. */
export async function fire(svc: HostileService, req: HostileWebhook): Promise<Fired> {
  const headers: Record<string, string> = {};
  if (req.contentType !== null) headers["Content-Type"] = req.contentType;
  if (req.contentEncoding !== null) headers["Content-Encoding"] = req.contentEncoding;
  const s = req.signing;
  const body = Buffer.from(req.body);
  let auth: string | null;
  if (s.kind === "header") auth = s.value;
  else if (s.kind === "held") auth = await signWebhook(body, LIVEKIT.apiKey, LIVEKIT.apiSecret);
  else if (s.kind === "wrong-secret") auth = await signWebhook(body, LIVEKIT.apiKey, "a-wrong-secret");
  else auth = await signWebhook(body, s.key, LIVEKIT.apiSecret);
  if (auth !== null) headers.Authorization = req.bearer && s.kind !== "header" ? `Bearer ${auth}` : auth;
  const res = await post(svc, body, headers);
  return { request: req, status: res.status, text: res.text, validlySigned: s.kind === "held" };
}

/** Whether an answer is the route's own refusal: JSON `{"error": "..."}` without a stack trace. */
export function isOwnRefusal(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return (
      typeof parsed === "object" &&
      parsed !== null &&
      typeof (parsed as { error?: unknown }).error === "string" &&
      !STACK_FRAME.test(text)
    );
  } catch {
    return false;
  }
}

/** A short description of a generated request for assertion messages. */
export function describeRequest(f: Fired): Record<string, unknown> {
  const r = f.request;
  return {
    status: f.status,
    answer: f.text.slice(0, 160),
    contentType: r.contentType,
    contentEncoding: r.contentEncoding,
    signing: r.signing.kind,
    body: Buffer.from(r.body).toString("utf8").slice(0, 80),
  };
}
