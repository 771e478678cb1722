// LiveKit webhooks as LiveKit sends them: a protojson body signed by a JWT whose `sha256` claim is the body's hash.
import { createHash, createHmac } from "node:crypto";
import { AccessToken } from "livekit-server-sdk";

export const WEBHOOK_CONTENT_TYPE = "application/webhook+json";

/** base64(sha256(body)), the claim LiveKit puts in the webhook's token. */
export function bodyHash(body: string | Buffer): string {
  return createHash("sha256").update(body).digest("base64");
}

/** The Authorization header value LiveKit sends: a JWT issued by `key`, signed with `secret`, over `body`. */
export async function signWebhook(body: string | Buffer, key: string, secret: string): Promise<string> {
  const token = new AccessToken(key, secret);
  token.sha256 = bodyHash(body);
  return token.toJwt();
}

/** The same token as LiveKit's, issued by a server whose clock reads `issuedAtMs` (valid from then for 5 minutes). */
export function signWebhookAt(
  body: string | Buffer,
  key: string,
  secret: string,
  issuedAtMs: number,
): string {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const nbf = Math.floor(issuedAtMs / 1000);
  const unsigned = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ iss: key, nbf, exp: nbf + 300, sha256: bodyHash(body) })}`;
  return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

export interface ParticipantWebhook {
  readonly id: string;
  readonly event: "participant_joined" | "participant_left";
  readonly room: string;
  readonly identity: string;
  readonly sid: string;
  /** Seconds since the epoch. */
  readonly createdAt?: number;
}

/** A participant webhook body in LiveKit's JSON (protojson: camelCase, int64 as strings). */
export function participantWebhookBody(w: ParticipantWebhook): string {
  const created = String(w.createdAt ?? Math.floor(Date.now() / 1000));
  return JSON.stringify({
    event: w.event,
    room: { sid: `RM_${w.room}`, name: w.room, emptyTimeout: 300, creationTime: created },
    participant: {
      sid: w.sid,
      identity: w.identity,
      state: w.event === "participant_joined" ? "ACTIVE" : "DISCONNECTED",
      joinedAt: created,
      ...(w.event === "participant_left" ? { disconnectReason: "CLIENT_INITIATED" } : {}),
    },
    id: w.id,
    createdAt: created,
  });
}

/** Headers of a correctly signed webhook. */
export async function webhookHeaders(
  body: string | Buffer,
  key: string,
  secret: string,
): Promise<Record<string, string>> {
  return {
    "Content-Type": WEBHOOK_CONTENT_TYPE,
    Authorization: await signWebhook(body, key, secret),
  };
}
