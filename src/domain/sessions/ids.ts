// Session ids: a user session's is its member key and join event id, a call session's the first user session's.
import { KEY_SEP } from "../membership/keys";

/** The id of the user session that joined with this event: unique per join. */
export function userSessionId(memberKey: string, joinEventId: string): string {
  return `${memberKey}${KEY_SEP}${joinEventId}`;
}

/** The id of the call session started by the user session that joined with this event. */
export function callSessionId(memberKey: string, joinEventId: string): string {
  return `call${KEY_SEP}${userSessionId(memberKey, joinEventId)}`;
}
