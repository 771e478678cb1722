// Sends call memberships in formats no current client produces (MSC3401 m.calls, legacy `memberships` array, seed m.rtc.member), plus raw format C.
import type { Json, MatrixHttp } from "./matrix-http";

export const CALL_MEMBER_TYPE = "org.matrix.msc3401.call.member";

export interface LivekitFocus {
  type: "livekit";
  livekit_service_url: string;
  livekit_alias?: string;
}

export type RawMembership =
  /** A: MSC3401 full mesh; state key `@user:hs`; per device absolute `expires_ts`. */
  | {
      format: "msc3401";
      userId: string;
      callId?: string;
      devices: { deviceId: string; sessionId?: string; expiresTs: number; foci?: LivekitFocus[] }[];
      eventType?: string;
    }
  /** B: legacy array; state key `@user:hs`; `expires` relative to `created_ts` or absolute `expires_ts`. */
  | {
      format: "legacy-array";
      userId: string;
      entries: {
        deviceId: string;
        callId?: string;
        expires?: number;
        createdTs?: number;
        expiresTs?: number;
        focus?: LivekitFocus;
      }[];
      eventType?: string;
    }
  /**
   * S: the seed MSC4143 state event `m.rtc.member` (or its unstable name). Default key `_@user:hs_DEVICE`, writable in
   * any room version; `@user:hs_DEVICE` (the owned form) is only writable in room versions `org.matrix.msc3757.*`.
   */
  | {
      format: "seed-rtc-member";
      userId: string;
      deviceId: string;
      callId?: string;
      focus: LivekitFocus;
      eventType?: "m.rtc.member" | "org.matrix.msc4143.rtc.member";
      stateKey?: string;
    }
  /** C: what js-sdk writes in state mode, written by hand (e.g. a ghost with no client behind it). */
  | {
      format: "session";
      userId: string;
      deviceId: string;
      focus: LivekitFocus;
      expires?: number;
      createdTs?: number;
      /** Default `_@user:hs_DEVICE_m.call` (js-sdk v38+); pass `_@user:hs_DEVICE` for v34–37. */
      stateKey?: string;
    };

export interface RawMembershipEvent {
  type: string;
  stateKey: string;
  content: Json;
}

/** The event type, state key and content a raw membership is written as. */
export function rawMembershipEvent(m: RawMembership): RawMembershipEvent {
  switch (m.format) {
    case "msc3401":
      return {
        type: m.eventType ?? CALL_MEMBER_TYPE,
        stateKey: m.userId,
        content: {
          "m.calls": [
            {
              "m.call_id": m.callId ?? "",
              "m.devices": m.devices.map((d) => ({
                device_id: d.deviceId,
                session_id: d.sessionId ?? `session-${d.deviceId}`,
                expires_ts: d.expiresTs,
                feeds: [{ purpose: "m.usermedia" }],
                ...(d.foci === undefined ? {} : { "m.foci.active": d.foci }),
              })),
            },
          ],
        },
      };
    case "legacy-array":
      return {
        type: m.eventType ?? CALL_MEMBER_TYPE,
        stateKey: m.userId,
        content: {
          memberships: m.entries.map((e) => ({
            application: "m.call",
            call_id: e.callId ?? "",
            scope: "m.room",
            device_id: e.deviceId,
            membershipID: `${m.userId}:${e.deviceId}`,
            ...(e.expires === undefined ? {} : { expires: e.expires }),
            ...(e.createdTs === undefined ? {} : { created_ts: e.createdTs }),
            ...(e.expiresTs === undefined ? {} : { expires_ts: e.expiresTs }),
            ...(e.focus === undefined ? {} : { foci_active: [e.focus] }),
          })),
        },
      };
    case "seed-rtc-member":
      return {
        type: m.eventType ?? "m.rtc.member",
        stateKey: m.stateKey ?? `_${m.userId}_${m.deviceId}`,
        content: {
          "m.application": "m.call",
          "m.call_id": m.callId ?? "",
          device_id: m.deviceId,
          focus_active: { type: "livekit", focus_selection: "oldest_membership" },
          foci_preferred: [m.focus],
        },
      };
    case "session":
      return {
        type: CALL_MEMBER_TYPE,
        stateKey: m.stateKey ?? `_${m.userId}_${m.deviceId}_m.call`,
        content: {
          application: "m.call",
          call_id: "",
          scope: "m.room",
          device_id: m.deviceId,
          membershipID: `${m.userId}:${m.deviceId}`,
          expires: m.expires ?? 14_400_000,
          focus_active: { type: "livekit", focus_selection: "oldest_membership" },
          foci_preferred: [m.focus],
          ...(m.createdTs === undefined ? {} : { created_ts: m.createdTs }),
        },
      };
  }
}

/**
 * Writes the membership as its user: pass that user's own MatrixHttp, or an appservice view `as.asUser(userId)`
 * (state keys starting with `@` can only be written by that user).
 */
export async function sendRawMembership(
  api: MatrixHttp,
  roomId: string,
  membership: RawMembership,
): Promise<RawMembershipEvent & { eventId: string }> {
  const ev = rawMembershipEvent(membership);
  const res = await api.putState(roomId, ev.type, ev.stateKey, ev.content);
  return { ...ev, eventId: res.event_id ?? "" };
}

/** The "left" content of each format. */
export function leftContent(format: RawMembership["format"]): Json {
  switch (format) {
    case "msc3401":
      return { "m.calls": [] };
    case "legacy-array":
      return { memberships: [] };
    case "seed-rtc-member":
    case "session":
      return {};
  }
}
