// Which room a command is about: the room it was asked in, or one named by id or alias (the first is never trusted).
import type { ArgsResult } from "./parse";

/**
 * A room named in a command. An id is used as given (room version 12 ids have no server part: `!opaque`); an
 * alias (`#name:server`) is resolved through the homeserver's room directory before anything else is read.
 */
export type RoomRef =
  { readonly kind: "id"; readonly roomId: string } | { readonly kind: "alias"; readonly alias: string };

/** The spec caps room ids and aliases at 255 bytes; the server part is a host name, IPv6 literal and port. */
const MAX_ID_LENGTH = 255;
const ROOM_ID = /^![\x21-\x39\x3b-\x7e]+(?::[A-Za-z0-9.:[\]-]+)?$/;
const ROOM_ALIAS = /^#[^\s:]+:[A-Za-z0-9.:[\]-]+$/u;

/** Reads one word as a room id or alias; null when it is neither (or too long). */
export function parseRoomRef(word: string): RoomRef | null {
  if (new TextEncoder().encode(word).length > MAX_ID_LENGTH) return null;
  if (ROOM_ID.test(word)) return { kind: "id", roomId: word };
  if (ROOM_ALIAS.test(word)) return { kind: "alias", alias: word };
  return null;
}

/** How a room reference reads in a reply. */
export const roomRefText = (ref: RoomRef): string => (ref.kind === "id" ? ref.roomId : ref.alias);

/** A command's arguments with the room it is about taken out: null target = the room it was asked in. */
export interface Targeted {
  readonly target: RoomRef | null;
  readonly rest: readonly string[];
}

const looksLikeRoom = (word: string): boolean => word.startsWith("!") || word.startsWith("#");

/**
 * Takes the one room argument (a word starting with `!` or `#`, wherever it stands) out of a command's
 * arguments. Two rooms, or a word that starts like a room but is not one, are refused with the reason.
 */
export function splitTarget(args: readonly string[]): ArgsResult<Targeted> {
  const rooms = args.filter(looksLikeRoom);
  const rest = args.filter((a) => !looksLikeRoom(a));
  if (rooms.length === 0) return { ok: true, value: { target: null, rest } };
  const [word] = rooms;
  if (rooms.length > 1 || word === undefined) return { ok: false, error: "names more than one room" };
  const target = parseRoomRef(word);
  if (target === null)
    return {
      ok: false,
      error: "expects a room id (!abc…) or an alias (#name:server) as the room",
    };
  return { ok: true, value: { target, rest } };
}
