// Identity strings for slots and members, state-key ownership (MSC3757) and MSC4143 slot ids.

/** Separator inside composite keys: cannot occur in Matrix identifiers, so keys never collide. */
export const KEY_SEP = "\u0000";

// Keys are built with Array#join, which yields one flat string: template literals would leave a tree of
// concatenated-string nodes alive for as long as the key is kept (hundreds of bytes per member).

/** The slot key of a state membership: one writable (type, state_key) pair. */
export function stateSlotKey(type: string, stateKey: string): string {
  return ["state", type, stateKey].join(KEY_SEP);
}

/** The slot key of a sticky membership: MSC4354's map key (room implied, sender, type, sticky key). */
export function stickySlotKey(type: string, sender: string, stickyKey: string): string {
  return ["sticky", type, sender, stickyKey].join(KEY_SEP);
}

/** The key of one device's membership of one call, stable across refreshes of its slot. */
export function memberKey(
  roomId: string,
  slotKey: string,
  deviceId: string,
  application: string,
  callId: string,
): string {
  return [roomId, slotKey, deviceId, application, callId].join(KEY_SEP);
}

/** The slot key inside a member key (room ids and the last three parts never contain the separator). */
export function slotKeyOfMemberKey(key: string): string {
  const callSep = key.lastIndexOf(KEY_SEP);
  const appSep = key.lastIndexOf(KEY_SEP, callSep - 1);
  const deviceSep = key.lastIndexOf(KEY_SEP, appSep - 1);
  return key.slice(key.indexOf(KEY_SEP) + 1, deviceSep);
}

/**
 * Whether a room version implements MSC3757 (owned state keys): Synapse ships it only as the room versions
 * `org.matrix.msc3757.*`, and MSC3779 builds on it. There, device keys start with the user id, no leading `_`.
 */
export function isOwnedStateKeyRoomVersion(roomVersion: string | null): boolean {
  return (
    roomVersion !== null &&
    (roomVersion.startsWith("org.matrix.msc3757.") || roomVersion.startsWith("org.matrix.msc3779."))
  );
}

/** What a state key says about who owns it. */
export interface StateKeyShape {
  /** The user id the key starts with (after an optional `_`), or null when it does not start with one. */
  readonly owner: string | null;
  /** The key started with `_@` (the pre-MSC3757 workaround for per-device keys). */
  readonly underscore: boolean;
  /** Something follows the user id (`_DEVICE`, `_DEVICE_m.call`): a per-device key. */
  readonly suffixed: boolean;
}

const NO_OWNER: StateKeyShape = { owner: null, underscore: false, suffixed: false };

/**
 * Reads the owner of `@user:hs`, `@user:hs_SUFFIX` or `_@user:hs_SUFFIX`. Localparts cannot contain `:` and
 * server names cannot contain `_`, so the user id ends at the first `_` after the first `:`. The suffix is
 * never parsed further: device ids may contain `_` (matrixrtc.md §1).
 */
export function stateKeyShape(stateKey: string): StateKeyShape {
  const underscore = stateKey.startsWith("_@");
  const start = underscore ? 1 : 0;
  if (stateKey.charCodeAt(start) !== 64 /* @ */) return NO_OWNER;
  const colon = stateKey.indexOf(":", start + 2);
  if (colon < 0 || colon === stateKey.length - 1) return NO_OWNER;
  const end = stateKey.indexOf("_", colon + 1);
  if (end < 0) return { owner: stateKey.slice(start), underscore, suffixed: false };
  if (end === colon + 1) return NO_OWNER;
  return { owner: stateKey.slice(start, end), underscore, suffixed: end < stateKey.length - 1 };
}

/**
 * The MSC4143 slot id of a state membership. js-sdk maps the `m.call` room call's `call_id: ""` to
 * `m.call#ROOM` (its INFO_SLOT_ID_LEGACY_CASE), which is also what lk-jwt-service hashes.
 */
export function slotIdFor(application: string, callId: string): string {
  return application === "m.call" && callId === "" ? "m.call#ROOM" : `${application}#${callId}`;
}

/** The call id of a sticky slot suffix, normalising js-sdk's `m.call#ROOM` back to the room call `""`. */
export function callIdForSlotSuffix(application: string, suffix: string): string {
  return application === "m.call" && suffix === "ROOM" ? "" : suffix;
}
