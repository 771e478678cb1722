// LiveKit room and participant names as the MatrixRTC JWT service (lk-jwt-service >= 0.4.3) derives them, and join tokens for tests.
import { createHash } from "node:crypto";
import { AccessToken } from "livekit-server-sdk";

export const CALL_SLOT_ID = "m.call#ROOM";

/** sha256 of the string, standard base64 alphabet without padding. */
export function unpaddedSha256Base64(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("base64").replace(/=+$/, "");
}

/** LiveKit room for a Matrix room: `b64(sha256(JSON.stringify([roomId, slotId])))`. */
export function livekitRoomName(roomId: string, slotId: string = CALL_SLOT_ID): string {
  return unpaddedSha256Base64(JSON.stringify([roomId, slotId]));
}

/** Identity for a state-format (B/C) membership, as `/sfu/get` names it: `@user:hs:DEVICE`. */
export function legacyIdentity(userId: string, deviceId: string): string {
  return `${userId}:${deviceId}`;
}

/** Identity for a sticky (D) membership, as `/get_token` and js-sdk name it: `b64(sha256(JSON.stringify([user, device, memberId])))`. */
export function stickyIdentity(userId: string, deviceId: string, memberId: string): string {
  return unpaddedSha256Base64(JSON.stringify([userId, deviceId, memberId]));
}

/** A join token for `room` as `identity` (publish and subscribe allowed). */
export async function livekitJoinToken(
  apiKey: string,
  apiSecret: string,
  room: string,
  identity: string,
  ttlSeconds = 3600,
): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, { identity, ttl: ttlSeconds });
  token.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
  return token.toJwt();
}
