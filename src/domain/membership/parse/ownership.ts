// Who may announce a membership under a state key: the key's owner must be the sender (MSC3401, MSC3757).
import { isOwnedStateKeyRoomVersion, type StateKeyShape } from "../keys";

/**
 * The state-key shapes of the call membership formats:
 * - `user`: `@user:hs` (MSC3401 `m.call.member` and the legacy array), exactly the sender;
 * - `device`: `_@user:hs_DEVICE[_m.call]` (js-sdk 34+), or `@user:hs_DEVICE…` in MSC3757 room versions;
 * - `any`: the seed MSC4143 `m.rtc.member` state, whose key shape was never settled: if it names a user,
 *   that user must be the sender.
 */
export type KeyRule = "user" | "device" | "any";

/**
 * Checks that a joining membership is announced by the owner of its key, pushing a reason otherwise.
 * Only joins are checked: whoever has the power may empty a slot (that is how a bot with power clears a ghost), and the
 * state then holds nobody whoever wrote it. When the room version is unknown, both device-key spellings pass.
 */
export function checkOwner(
  rule: KeyRule,
  shape: StateKeyShape,
  stateKey: string,
  sender: string,
  roomVersion: string | null,
  reasons: string[],
): void {
  switch (rule) {
    case "user":
      if (shape.owner === null || shape.underscore || shape.owner !== stateKey) {
        reasons.push("state_key: not a user id");
      } else if (shape.owner !== sender) {
        reasons.push("state_key: owned by another user than the sender");
      }
      return;
    case "device":
      if (shape.owner === null || !shape.suffixed) {
        reasons.push("state_key: not a per-device key");
      } else if (shape.owner !== sender) {
        reasons.push("state_key: owned by another user than the sender");
      } else if (!shape.underscore && roomVersion !== null && !isOwnedStateKeyRoomVersion(roomVersion)) {
        reasons.push("state_key: starts with @ outside an MSC3757 room version");
      }
      return;
    case "any":
      if (shape.owner !== null && shape.owner !== sender) {
        reasons.push("state_key: owned by another user than the sender");
      }
      return;
  }
}
