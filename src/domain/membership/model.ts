// The normalised call membership: one shape for every MatrixRTC / MSC3401 format the service follows.
import type { DurationMs, EpochMs } from "../time";

/**
 * The wire formats of call membership (see docs/formats in matrixrtc.md §1):
 * - `msc3401`: MSC3401 `m.call.member` state keyed `@user:hs`, `content["m.calls"][]["m.devices"][]`, per-device `expires_ts`.
 * - `legacy-array`: the same key holding exactly `{memberships: [...]}` (js-sdk < 34).
 * - `session`: per-device `org.matrix.msc3401.call.member` state (js-sdk 34+), key `_@user:hs_DEVICE[_m.call]`.
 * - `rtc-state`: the seed MSC4143 `m.rtc.member` / `org.matrix.msc4143.rtc.member` *state* event (no expiry field).
 * - `sticky`: MSC4143 + MSC4354 sticky timeline event as matrix-js-sdk 43 sends it (`member`, `slot_id`, `transports`).
 * - `rtc-latest`: the latest MSC4143 text (`member.membership` = join/leave), sticky.
 */
export type MembershipFormat = "msc3401" | "legacy-array" | "session" | "rtc-state" | "sticky" | "rtc-latest";

/** A transport (MSC4143) / focus (MSC3401): where media flows. Only `livekit` ones can be judged by SFU truth. */
export interface Transport {
  readonly type: string;
  /** The MatrixRTC JWT service URL (not the SFU's own URL); maps to one of our LiveKit deployments. */
  readonly livekitServiceUrl: string | null;
  /** `livekit_alias`, the LiveKit room name older lk-jwt-service versions used (the Matrix room id). */
  readonly livekitAlias: string | null;
  /** MSC4195 `m.livekit` transports carry the SFU's own WebSocket `url` instead of a JWT service URL. */
  readonly url: string | null;
}

/** `focus_active` of format C/S: how the SFU is chosen among the call's members. */
export interface FocusActive {
  readonly type: string;
  /** `oldest_membership` (everyone uses the oldest member's preferred focus) or `multi_sfu` (each their own). */
  readonly focusSelection: string | null;
}

/** Where a member came from: enough to find, re-read and overwrite the exact state or sticky slot. */
export interface MemberSource {
  readonly eventId: string;
  readonly type: string;
  /** The state key for state formats; null for sticky events. */
  readonly stateKey: string | null;
  /** `msc4354_sticky_key` for sticky formats; null for state formats. */
  readonly stickyKey: string | null;
  readonly format: MembershipFormat;
  readonly roomVersion: string | null;
  readonly sender: string;
  readonly originServerTs: EpochMs;
  /** When this service received the event (its own clock, passed in by the adapter). */
  readonly receivedAt: EpochMs;
}

/** One device's membership of one call (application + call id), whatever format announced it. */
export interface RtcMember {
  /** Identifies this device membership across refreshes of the same slot: `slotKey` + device. */
  readonly key: string;
  /** Identifies the writable unit that holds it (a state type+key, or a sticky sender+type+key). */
  readonly slotKey: string;
  readonly roomId: string;
  readonly userId: string;
  readonly deviceId: string;
  /** `m.call` for Element Call; other MatrixRTC applications are followed the same way. */
  readonly application: string;
  /**
   * `""` for the room's one call (MSC4143 `call_id`), or the slot's id suffix for sticky formats. For `m.call`
   * the sticky suffix `ROOM` is normalised to `""`, as matrix-js-sdk does, so state and sticky members of the
   * room's call share one call id (and one call session).
   */
  readonly callId: string;
  /** MSC4143 slot id, `<application>#<callId or ROOM>` (js-sdk 43 sends `m.call#ROOM`). */
  readonly slotId: string;
  /** `membershipID` (C) or `member.id` (D/E): input to the hashed LiveKit identity. */
  readonly memberId: string | null;
  /** MSC3401 `session_id` (A) or an equivalent: a change means leave + join, not a refresh. */
  readonly sessionId: string | null;
  readonly focusActive: FocusActive | null;
  /** Preferred (C/S: `foci_preferred`) or published (D/E: `transports.published`) transports, in order. */
  readonly transports: readonly Transport[];
  /** `created_ts` when given, else the event's `origin_server_ts`. */
  readonly createdTs: EpochMs;
  /** When the membership stops counting by its own rules; null when the format has none (then policy decides). */
  readonly expiresAt: EpochMs | null;
  /**
   * Where it came from. Nothing else of the event is kept: fields the parser does not interpret decide nothing,
   * and keeping them would let a sender make each of its members cost memory.
   */
  readonly source: MemberSource;
}

/** The policy for formats without an expiry (seed `m.rtc.member` state): optional maximum age. */
export interface ExpiryPolicy {
  /** A membership with no expiry of its own expires this long after `createdTs`; null = never by age. */
  readonly maxAgeWithoutExpiry: DurationMs | null;
}
