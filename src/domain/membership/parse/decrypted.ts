// An encrypted sticky event the bot's device decrypted, turned back into the plain sticky event the parsers read.
import { RTC_MEMBER_TYPES } from "./index";
import type { JsonRecord } from "./read";

/** What the bot's device read from the ciphertext: the sender's type and content, and the room it names. */
export interface Plaintext {
  readonly type: string;
  readonly content: Readonly<Record<string, unknown>>;
  /** `room_id` inside the plaintext (Megolm puts it there); null when absent. */
  readonly roomId: string | null;
}

export type DecryptedSticky =
  | { readonly kind: "membership"; readonly event: JsonRecord }
  | { readonly kind: "skip"; readonly reason: "state_event" | "other_room" | "not_membership" };

/** Fields of the outer event the homeserver vouches for (who sent it, when, where, how long it stays sticky). */
export const ENVELOPE_FIELDS = [
  "event_id",
  "room_id",
  "sender",
  "origin_server_ts",
  "msc4354_sticky",
  "sticky",
] as const;
/** What a plain event keeps of the outer one: its envelope, and `unsigned` (the homeserver's time-left marker). */
const OUTER_FIELDS = [...ENVELOPE_FIELDS, "unsigned"] as const;

/**
 * The plain event a decrypted sticky call membership stands for: the sender's inner type and content inside the
 * homeserver's envelope. The sender chose the ciphertext, so nothing in it may reach further than a plain event
 * of theirs would: an encrypted *state* event never becomes room state (its slot would be anyone's state key),
 * a plaintext naming another room is a replay from there, and only sticky membership types are read.
 */
export function stickyFromDecrypted(outer: Readonly<JsonRecord>, plain: Plaintext): DecryptedSticky {
  if (outer.state_key !== undefined) return { kind: "skip", reason: "state_event" };
  if (plain.roomId !== outer.room_id) return { kind: "skip", reason: "other_room" };
  if (!RTC_MEMBER_TYPES.has(plain.type)) return { kind: "skip", reason: "not_membership" };
  const event: Record<string, unknown> = { type: plain.type, content: plain.content };
  for (const field of OUTER_FIELDS) if (outer[field] !== undefined) event[field] = outer[field];
  return { kind: "membership", event };
}
