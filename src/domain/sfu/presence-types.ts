// The SFU presence vocabulary: LiveKit signals in, per-member presence and the verdict's SFU view out.
import type { EpochMs } from "../time";

/** LiveKit `ParticipantInfo.State`: only ACTIVE means media is connected. */
export type ParticipantState = "joining" | "joined" | "active" | "disconnected";

/**
 * Inputs from one deployment: webhook signals (`participant_joined`, `participant_left`,
 * `participant_connection_aborted`, `room_finished`), per-room `listParticipants` snapshots, and the outcome
 * of a whole poll sweep (which decides whether the view is fresh enough to trust).
 */
export type SfuSignal =
  | {
      readonly kind: "joined" | "left" | "aborted";
      readonly room: string;
      readonly identity: string;
      readonly sid: string;
      readonly at: EpochMs;
      readonly eventId: string;
      /** LiveKit `DisconnectReason` name for `left` (e.g. `CLIENT_INITIATED`, `DUPLICATE_IDENTITY`). */
      readonly reason?: string | null;
    }
  | {
      readonly kind: "snapshot";
      readonly room: string;
      readonly at: EpochMs;
      readonly participants: readonly {
        readonly identity: string;
        readonly sid: string;
        readonly state: ParticipantState;
      }[];
    }
  | { readonly kind: "room-finished"; readonly room: string; readonly at: EpochMs }
  | { readonly kind: "poll-ok"; readonly at: EpochMs }
  | { readonly kind: "poll-failed"; readonly at: EpochMs; readonly reason: string }
  /**
   * An SFU incident seen in a poll (most participants lost at once: a restart, a network cut): the deployment
   * stays available, but it is followed afresh from `at`, as after an outage.
   */
  | { readonly kind: "incident"; readonly at: EpochMs };

/** What the SFU says about one member (MSC4195 room + identity candidates), at the last evidence we have. */
export type SfuPresence =
  | { readonly kind: "connected"; readonly since: EpochMs; readonly sid: string; readonly room: string }
  | {
      readonly kind: "gone";
      readonly since: EpochMs;
      readonly sid: string;
      readonly room: string;
      readonly reason: string | null;
    }
  | { readonly kind: "never-seen" };

/** Whether the deployment's view can be used: reachable, since when we follow it, and its last good poll. */
export interface DeploymentStatus {
  readonly available: boolean;
  /** Since when we have followed it without a gap (reset when it comes back from unavailable). */
  readonly trackingSince: EpochMs;
  /** When it last came back after an outage or an SFU incident (null: followed without a gap since start). */
  readonly resumedAt: EpochMs | null;
  readonly lastSuccessfulPollAt: EpochMs | null;
  readonly unavailableReason: string | null;
}

/**
 * The SFU evidence a verdict gets for one member: `none` (the member depends on no SFU: full mesh or an unknown
 * focus selection), `not-ours` (an SFU whose API key we do not hold), `unavailable`, `stale` (no recent
 * successful poll: webhooks alone are lossy), or `observed`. An observed view is `contested` when the SFU was
 * chosen for the member by other members' claims (MSC4143 `oldest_membership`) while the call's members do not
 * all name it: then it can show the member there, or that it timed out there, but not that it left.
 */
export type SfuView =
  | { readonly kind: "none" }
  | { readonly kind: "not-ours" }
  | { readonly kind: "unavailable"; readonly reason: string }
  | { readonly kind: "stale"; readonly lastOkAt: EpochMs | null }
  | {
      readonly kind: "observed";
      readonly presence: SfuPresence;
      readonly trackingSince: EpochMs;
      readonly resumedAt: EpochMs | null;
      readonly contested?: boolean;
    };
