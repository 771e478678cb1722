// Which SFU a member depends on, and the LiveKit room names and participant identities it may appear under.
import type { MembershipFormat, RtcMember, Transport } from "../membership/model";
import type { EpochMs } from "../time";
import { inCallOf, olderInCall } from "../membership/oldest";
import { hashedTuple, unpaddedB64Sha256 } from "./hash";

/** The member's own first transport (`foci_preferred[0]`, `foci_active[0]`, `transports.published[0]`). */
export function ownTransport(member: RtcMember): Transport | null {
  return member.transports[0] ?? null;
}

const MODERN: ReadonlySet<MembershipFormat> = new Set(["session", "rtc-state", "sticky", "rtc-latest"]);
const LEGACY: ReadonlySet<MembershipFormat> = new Set(["legacy-array"]);

/** The oldest member (smallest `createdTs`, then smallest key) of the same call among `roomMembers` and `member`. */
export function oldestMemberOf(
  member: RtcMember,
  roomMembers: readonly RtcMember[],
  formats: ReadonlySet<MembershipFormat> = MODERN,
): RtcMember {
  let oldest = member;
  for (const other of roomMembers) if (olderInCall(other, oldest, member, formats)) oldest = other;
  return oldest;
}

/**
 * The other members of a room's calls, as far as choosing a member's SFU needs them: either the list of the
 * room's effective members, or something that lists them and finds the oldest one without building that list
 * (the room's call state does: it runs for every change of a call with oldest-membership selection).
 */
export type CallPeers =
  | readonly RtcMember[]
  | {
      oldestInCall(member: RtcMember, formats: ReadonlySet<MembershipFormat>): RtcMember;
      members(): readonly RtcMember[];
      /** Whether the room holds a call membership we could not read but a client may. */
      hasUnreadMemberships(now: EpochMs): boolean;
    };

function oldestAmong(member: RtcMember, peers: CallPeers, formats: ReadonlySet<MembershipFormat>): RtcMember {
  return "oldestInCall" in peers
    ? peers.oldestInCall(member, formats)
    : oldestMemberOf(member, peers, formats);
}

/**
 * Whose transport is the member's SFU (matrixrtc.md §4): its own (`own`), the oldest member's among these
 * formats, or none (an unknown focus selection: no SFU can be asked).
 * - C / S with `focus_selection: oldest_membership` (MSC4143 seed): the oldest among current-format members
 *   (C, S, D, E) as js-sdk 43 picks it;
 * - C / S with `multi_sfu`, or S without `focus_active`: its own `foci_preferred[0]`;
 * - D / E (MSC4143 sticky): its own `transports.published[0]`;
 * - B (legacy array): the oldest legacy entry's `foci_active[0]`; A (MSC3401): its own focus, if any.
 */
function selectionOf(member: RtcMember): "own" | "none" | ReadonlySet<MembershipFormat> {
  switch (member.source.format) {
    case "sticky":
    case "rtc-latest":
    case "msc3401":
      return "own";
    case "legacy-array":
      return LEGACY;
    case "session":
    case "rtc-state": {
      const focus = member.focusActive;
      if (focus === null || focus.focusSelection === null || focus.focusSelection === "multi_sfu")
        return "own";
      return focus.focusSelection === "oldest_membership" ? MODERN : "none";
    }
  }
}

/** The transport (SFU) whose LiveKit room the member's media goes through; null when none can be asked. */
export function sfuTransportFor(member: RtcMember, peers: CallPeers): Transport | null {
  const selection = selectionOf(member);
  if (selection === "none") return null;
  return ownTransport(selection === "own" ? member : oldestAmong(member, peers, selection));
}

/**
 * Whether other members' claims could have put the member on another SFU than the one it is judged by. Under
 * oldest-membership selection the SFU is the oldest member's, and "oldest" is `created_ts`, which each member
 * writes about itself (and clients break ties and skip members by rules of their own). Only when every member
 * of the call names the chosen SFU (`isChosen`), every transport it lists, and the room holds no call
 * membership we could not read, does it not matter who is the oldest. Otherwise the member's absence from that
 * SFU is no evidence (docs/operations.md "Threat model" says where this is stricter than clients).
 */
export function sfuContested(
  member: RtcMember,
  peers: CallPeers,
  isChosen: (transport: Transport) => boolean,
  now: EpochMs,
): boolean {
  const selection = selectionOf(member);
  if (selection === "own" || selection === "none") return false;
  const namesOnlyChosen = (m: RtcMember) => m.transports.length > 0 && m.transports.every(isChosen);
  if (!namesOnlyChosen(member)) return true;
  if ("oldestInCall" in peers) {
    if (peers.hasUnreadMemberships(now)) return true;
    return peers.members().some((other) => inCallOf(other, member, selection) && !namesOnlyChosen(other));
  }
  return peers.some((other) => inCallOf(other, member, selection) && !namesOnlyChosen(other));
}

function pushUnique(list: string[], value: string): void {
  if (!list.includes(value)) list.push(value);
}

/**
 * Every LiveKit room name the member's call may use, by lk-jwt-service version (matrixrtc.md §4): the raw room
 * id (≤ v0.4.0 `/sfu/get`), `livekit_alias` values (of the SFU transport given, and of the member's own),
 * `b64(sha256(R + "|" + slotId))` (v0.4.1–0.4.2), `b64(sha256(JSON([R, slotId])))` (≥ v0.4.3, MSC4195), and
 * the 2023 MSC3401 scheme `R-callId` when the call id is not empty.
 */
export function livekitRoomCandidates(member: RtcMember, transport: Transport | null = null): string[] {
  const out = callRoomCandidates(member.roomId, member.slotId, member.callId);
  if (transport !== null && transport.livekitAlias !== null) pushUnique(out, transport.livekitAlias);
  for (const own of member.transports) if (own.livekitAlias !== null) pushUnique(out, own.livekitAlias);
  return out;
}

/** The room names that depend only on the call (no `livekit_alias`): raw id, both slot hashes, `R-callId`. */
function callRoomCandidates(roomId: string, slotId: string, callId: string): string[] {
  const out = [roomId];
  pushUnique(out, unpaddedB64Sha256(`${roomId}|${slotId}`));
  pushUnique(out, hashedTuple([roomId, slotId]));
  if (callId !== "") pushUnique(out, [roomId, callId].join("-"));
  return out;
}

/**
 * Every LiveKit participant identity the member's device may connect as: `<user>:<device>` (legacy
 * `/sfu/get`), `b64(sha256(JSON([user, device, memberId])))` (js-sdk 43 and lk-jwt-service `/get_token`;
 * for C the member id defaults to `<user>:<device>` like js-sdk), and for MSC4143 sticky members the MSC4195
 * text's `b64(sha256(JSON([sender, member.id])))`.
 */
export function participantIdentities(member: RtcMember): string[] {
  const { userId, deviceId } = member;
  const format = member.source.format;
  const out: string[] = [];
  const legacy = `${userId}:${deviceId}`;
  // Format C's `membershipID` is often this very text: the member's string then serves (one copy, not two).
  if (deviceId !== "") out.push(member.memberId === legacy ? member.memberId : legacy);
  const memberId = member.memberId ?? (format === "session" || format === "legacy-array" ? legacy : null);
  if (memberId === null) return out;
  if (deviceId !== "") pushUnique(out, hashedTuple([userId, deviceId, memberId]));
  if (format === "sticky" || format === "rtc-latest") pushUnique(out, hashedTuple([userId, memberId]));
  return out;
}

/** Where to look for a member on the SFU: its transport, and the room names and identities to match. */
export interface SfuTarget {
  readonly transport: Transport;
  readonly rooms: readonly string[];
  readonly identities: readonly string[];
}

/** The LiveKit room names and identities to look for the member under on `transport` (hashed each time). */
export function sfuNamesFor(member: RtcMember, transport: Transport): Omit<SfuTarget, "transport"> {
  return { rooms: livekitRoomCandidates(member, transport), identities: participantIdentities(member) };
}

/** The member's SFU target, or null when it depends on no SFU. */
export function sfuTargetFor(member: RtcMember, peers: CallPeers): SfuTarget | null {
  const transport = sfuTransportFor(member, peers);
  return transport === null ? null : { transport, ...sfuNamesFor(member, transport) };
}
