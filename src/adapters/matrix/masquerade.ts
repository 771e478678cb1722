// What the service may do as a user (appservice masquerade): read room state, write call membership, fire that user's delayed leave.
import { CALL_MEMBER_TYPES, RTC_MEMBER_TYPES } from "../../domain/membership/parse";

/** State types of call membership the service may write as the user (MSC3401 A/B/C, seed MSC4143 S). */
const MEMBERSHIP_STATE_TYPES: ReadonlySet<string> = new Set([...CALL_MEMBER_TYPES, ...RTC_MEMBER_TYPES]);
const STICKY_DURATION = "org.matrix.msc4354.sticky_duration_ms";

/** A request as a user outside what the service does as users: refused before it leaves the process. */
export class MasqueradeRefusedError extends Error {
  override name = "MasqueradeRefusedError";
  constructor(
    readonly method: string,
    readonly path: string,
    readonly userId: string,
  ) {
    super(`refused to send ${method} ${path} as ${userId}: the service does not make this request as a user`);
  }
}

/** A request as it goes on the wire: method, encoded path, query parameters (without `user_id`). */
export interface MasqueradeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
}

/** The decoded path segments; null when one is `.` or `..` (URL resolution would move the request elsewhere). */
function segments(path: string): string[] | null {
  if (!path.startsWith("/")) return null;
  let parts: string[];
  try {
    parts = path.slice(1).split("/").map(decodeURIComponent);
  } catch {
    return null;
  }
  return parts.some((p) => p === "." || p === "..") ? null : parts;
}

/** Whether URL resolution would move this path elsewhere (a `.` or `..` segment, say another sender's state key). */
export function resolvesElsewhere(path: string): boolean {
  return segments(path) === null;
}

const queryIs = (query: Readonly<Record<string, string>>, allowed: readonly string[]): boolean =>
  Object.keys(query).every((key) => allowed.includes(key));

/** `/rooms/{room}/state[/{type}/{key}]` reads, membership state writes, sticky membership sends (MSC4354). */
function roomRequest(method: string, rest: readonly string[], query: MasqueradeRequest["query"]): boolean {
  const [room, what, type, key, ...more] = rest;
  if (room === undefined || room === "" || more.length > 0) return false;
  if (what === "state" && type === undefined) return method === "GET" && queryIs(query, []);
  if (type === undefined || key === undefined) return false;
  if (what === "state" && method === "GET") return queryIs(query, ["format"]);
  if (what === "state" && method === "PUT") return MEMBERSHIP_STATE_TYPES.has(type) && queryIs(query, []);
  if (what === "send" && method === "PUT")
    return RTC_MEMBER_TYPES.has(type) && STICKY_DURATION in query && queryIs(query, [STICKY_DURATION]);
  return false;
}

/** MSC4140: list the user's delayed events, or send / cancel one of them (the list only holds the user's own). */
function delayedRequest(method: string, rest: readonly string[], query: MasqueradeRequest["query"]): boolean {
  if (!queryIs(query, [])) return false;
  if (rest.length === 0) return method === "GET";
  const [delayId, action, ...more] = rest;
  return (
    method === "POST" &&
    more.length === 0 &&
    delayId !== undefined &&
    delayId !== "" &&
    (action === "send" || action === "cancel")
  );
}

/**
 * Whether a request may be made as a user. The homeserver lets the as_token act as any user in the
 * registration's namespace for anything; the service keeps itself to what clearing a call membership needs.
 */
export function mayMasquerade(req: MasqueradeRequest): boolean {
  const parts = segments(req.path);
  if (parts === null) return false;
  const [root, client, version, area, ...rest] = parts;
  if (root !== "_matrix" || client !== "client") return false;
  if (version === "v3" && area === "rooms") return roomRequest(req.method, rest, req.query);
  if (version === "unstable" && area === "org.matrix.msc4140" && rest[0] === "delayed_events")
    return delayedRequest(req.method, rest.slice(1), req.query);
  return false;
}
