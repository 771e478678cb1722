// What to write to end a ghost membership: `{}` for per-device keys, the array without the ghost entries for
// MSC3401 / legacy keys that hold several devices, the sticky leave for MSC4143 sticky members.
import type { MembershipFormat } from "../membership/model";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One ghost entry to remove from a shared `@user` key. */
export interface GhostEntry {
  readonly deviceId: string;
  readonly application: string;
  readonly callId: string;
}

const same = (a: GhostEntry, deviceId: unknown, application: unknown, callId: unknown): boolean =>
  a.deviceId === deviceId && a.application === (application ?? "m.call") && a.callId === (callId ?? "");

/**
 * The content of a shared MSC3401 (`m.calls[].m.devices[]`) or legacy (`memberships[]`) key without the ghost
 * entries; every other entry is kept exactly as it is. Null when the content is neither shape.
 */
export function withoutEntries(
  content: unknown,
  ghosts: readonly GhostEntry[],
): Record<string, unknown> | null {
  if (!isRecord(content)) return null;
  if (Array.isArray(content.memberships)) {
    const kept = content.memberships.filter(
      (e) => !(isRecord(e) && ghosts.some((g) => same(g, e.device_id, e.application, e.call_id))),
    );
    return { ...content, memberships: kept };
  }
  if (Array.isArray(content["m.calls"])) {
    const calls = (content["m.calls"] as unknown[]).map((call): unknown => {
      if (!isRecord(call) || !Array.isArray(call["m.devices"])) return call;
      const callId = call["m.call_id"];
      const devices = call["m.devices"].filter(
        (d) => !(isRecord(d) && ghosts.some((g) => same(g, d.device_id, "m.call", callId))),
      );
      return { ...call, "m.devices": devices };
    });
    // A call with no device left is dropped: MSC3401's "left" is the user's calls without it.
    const kept = calls.filter(
      (call) => !isRecord(call) || !Array.isArray(call["m.devices"]) || call["m.devices"].length > 0,
    );
    return { ...content, "m.calls": kept };
  }
  return null;
}

/** True when the rewritten content still holds entries (then it is a rewrite, not a full leave). */
export function stillHoldsEntries(content: Record<string, unknown>): boolean {
  const list = Array.isArray(content.memberships) ? content.memberships : content["m.calls"];
  return Array.isArray(list) && list.length > 0;
}

/** Formats whose key belongs to one device: the leave is empty content. */
export function isPerDeviceFormat(format: MembershipFormat): boolean {
  return format === "session" || format === "rtc-state";
}

/** The sticky leave js-sdk 43 sends for format D, and the `membership: leave` of the latest MSC4143 text (E). */
export function stickyLeaveContent(
  format: "sticky" | "rtc-latest",
  original: Readonly<Record<string, unknown>>,
  stickyKey: string,
): Record<string, unknown> {
  if (format === "sticky") return { slot_id: original.slot_id, msc4354_sticky_key: stickyKey };
  const member = isRecord(original.member) ? original.member : {};
  return {
    ...original,
    member: { ...member, membership: "leave" },
    leave_reason: { code: "leave" },
    msc4354_sticky_key: stickyKey,
  };
}
