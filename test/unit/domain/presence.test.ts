// SFU presence reducer: sid-keyed webhooks and snapshots, duplicate identity, room finish, status and pruning.
import { SfuPresenceTracker, type SfuPresence, type SfuSignal } from "../../../src/domain/sfu/presence";

const ROOM = "lk-room";
const ID = "@alice:example.org:DEVA";

function signal(
  kind: "joined" | "left" | "aborted",
  sid: string,
  at: number,
  reason?: string,
  identity = ID,
): SfuSignal {
  return {
    kind,
    room: ROOM,
    identity,
    sid,
    at,
    eventId: `wh-${kind}-${sid}-${at}`,
    ...(reason === undefined ? {} : { reason }),
  };
}

/** The presence of a connected sid in ROOM. */
function connected(sid: string, since: number): SfuPresence {
  return { kind: "connected", since, sid, room: ROOM };
}

/** The presence of a gone sid in ROOM. */
function gone(sid: string, since: number, reason: string | null): SfuPresence {
  return { kind: "gone", since, sid, room: ROOM, reason };
}

describe("SfuPresenceTracker", () => {
  test("joined → connected; left → gone with its reason; unknown pairs are never seen", () => {
    const t = new SfuPresenceTracker(0);
    expect(t.presenceOf([ROOM], [ID])).toEqual({ kind: "never-seen" });
    t.apply(signal("joined", "PA_1", 100));
    expect(t.presenceOf(["other", ROOM], ["x", ID])).toEqual(connected("PA_1", 100));
    t.apply(signal("left", "PA_1", 200, "CONNECTION_TIMEOUT"));
    expect(t.presenceOf([ROOM], [ID])).toEqual(gone("PA_1", 200, "CONNECTION_TIMEOUT"));
  });

  test("a rejoin's DUPLICATE_IDENTITY leave of the old sid does not hide the new sid, in either order", () => {
    const t = new SfuPresenceTracker(0);
    t.apply(signal("joined", "PA_old", 100));
    t.apply(signal("joined", "PA_new", 300));
    t.apply(signal("left", "PA_old", 301, "DUPLICATE_IDENTITY"));
    expect(t.presenceOf([ROOM], [ID])).toMatchObject({ kind: "connected", sid: "PA_new" });
    const u = new SfuPresenceTracker(0);
    u.apply(signal("joined", "PA_old", 100));
    u.apply(signal("left", "PA_old", 300, "DUPLICATE_IDENTITY"));
    u.apply(signal("joined", "PA_new", 300));
    expect(u.presenceOf([ROOM], [ID])).toMatchObject({ kind: "connected", sid: "PA_new" });
  });

  test("a gone sid never comes back; duplicate webhooks are harmless", () => {
    const t = new SfuPresenceTracker(0);
    t.apply(signal("joined", "PA_1", 100));
    t.apply(signal("left", "PA_1", 200));
    t.apply(signal("left", "PA_1", 250));
    t.apply(signal("joined", "PA_1", 300));
    expect(t.presenceOf([ROOM], [ID])).toMatchObject({ kind: "gone", since: 200 });
  });

  test("aborted connections are gone without ever being connected", () => {
    const t = new SfuPresenceTracker(0);
    t.apply(signal("aborted", "PA_1", 100));
    expect(t.presenceOf([ROOM], [ID])).toMatchObject({ kind: "gone", reason: "CONNECTION_ABORTED" });
  });

  test("snapshots: only ACTIVE counts; absent sids are gone since the snapshot; older snapshots do not override", () => {
    const t = new SfuPresenceTracker(0);
    t.apply({
      kind: "snapshot",
      room: ROOM,
      at: 100,
      participants: [{ identity: ID, sid: "PA_1", state: "joining" }],
    });
    expect(t.presenceOf([ROOM], [ID])).toEqual({ kind: "never-seen" });
    t.apply({
      kind: "snapshot",
      room: ROOM,
      at: 200,
      participants: [{ identity: ID, sid: "PA_1", state: "active" }],
    });
    expect(t.presenceOf([ROOM], [ID])).toMatchObject({ kind: "connected", since: 200 });
    t.apply(signal("joined", "PA_2", 500));
    t.apply({ kind: "snapshot", room: ROOM, at: 400, participants: [] });
    expect(t.presenceOf([ROOM], [ID])).toMatchObject({ kind: "connected", sid: "PA_2" });
    t.apply({
      kind: "snapshot",
      room: ROOM,
      at: 600,
      participants: [{ identity: ID, sid: "PA_2", state: "disconnected" }],
    });
    expect(t.presenceOf([ROOM], [ID])).toMatchObject({ kind: "gone", sid: "PA_2", since: 600 });
  });

  test("a snapshot marks absent sids gone at its own time", () => {
    const t = new SfuPresenceTracker(0);
    t.apply(signal("joined", "PA_1", 100));
    t.apply({ kind: "snapshot", room: ROOM, at: 700, participants: [] });
    expect(t.presenceOf([ROOM], [ID])).toMatchObject({
      kind: "gone",
      since: 700,
      reason: "ABSENT_FROM_SNAPSHOT",
    });
  });

  test("room_finished ends everyone in the room", () => {
    const t = new SfuPresenceTracker(0);
    t.apply(signal("joined", "PA_1", 100));
    t.apply({ kind: "room-finished", room: ROOM, at: 900 });
    expect(t.presenceOf([ROOM], [ID])).toMatchObject({ kind: "gone", since: 900, reason: "ROOM_FINISHED" });
  });

  test("status: stale before the first poll, unavailable after a failure, tracking restarts on recovery", () => {
    const t = new SfuPresenceTracker(1000);
    expect(t.viewOf([ROOM], [ID], 2000, 60_000)).toEqual({ kind: "stale", lastOkAt: null });
    t.apply({ kind: "poll-ok", at: 1500 });
    expect(t.viewOf([ROOM], [ID], 2000, 60_000)).toEqual({
      kind: "observed",
      presence: { kind: "never-seen" },
      trackingSince: 1000,
      resumedAt: null,
    });
    expect(t.viewOf([ROOM], [ID], 70_000, 60_000)).toEqual({ kind: "stale", lastOkAt: 1500 });
    t.apply({ kind: "poll-failed", at: 3000, reason: "ECONNREFUSED" });
    expect(t.viewOf([ROOM], [ID], 3001, 60_000)).toEqual({ kind: "unavailable", reason: "ECONNREFUSED" });
    t.apply({ kind: "poll-ok", at: 5000 });
    expect(t.status).toEqual({
      available: true,
      trackingSince: 5000,
      resumedAt: 5000,
      lastSuccessfulPollAt: 5000,
      unavailableReason: null,
    });
  });

  test("an incident restarts tracking at once while the deployment stays available", () => {
    const t = new SfuPresenceTracker(1000);
    t.apply({ kind: "poll-ok", at: 1500 });
    t.apply(signal("joined", "PA_1", 1600));
    t.apply(signal("left", "PA_1", 1900, "CLIENT_INITIATED"));
    t.apply({ kind: "incident", at: 2000 });
    expect(t.viewOf([ROOM], [ID], 2001, 60_000)).toEqual({
      kind: "observed",
      presence: { kind: "gone", since: 1900, sid: "PA_1", room: ROOM, reason: "CLIENT_INITIATED" },
      trackingSince: 2000,
      resumedAt: 2000,
    });
    // The poll that saw the incident succeeded: it keeps the restarted tracking.
    t.apply({ kind: "poll-ok", at: 2000 });
    expect([t.status.available, t.status.trackingSince, t.status.resumedAt]).toEqual([true, 2000, 2000]);
  });

  test("a newer connection of the same identity in the same room ends the older one (LiveKit keeps one)", () => {
    const t = new SfuPresenceTracker(0);
    t.apply(signal("joined", "PA_1", 100));
    t.apply(signal("joined", "PA_2", 200));
    expect(t.connectedParticipants()).toEqual([{ room: ROOM, identity: ID, sid: "PA_2", since: 200 }]);
    expect(t.roomsWithConnected()).toEqual([ROOM]);
    t.apply(signal("left", "PA_2", 300));
    expect(t.roomsWithConnected()).toEqual([]);
  });

  test("prune forgets gone sids past the retention window, keeps connected ones (still ended with their room)", () => {
    const t = new SfuPresenceTracker(0);
    t.apply(signal("joined", "PA_1", 100));
    t.apply(signal("left", "PA_1", 200));
    t.apply(signal("joined", "PB_1", 100, undefined, "bob"));
    expect(t.prune(1000, 5000)).toBe(0);
    expect(t.prune(10_000, 5000)).toBe(1);
    expect(t.size).toBe(1);
    expect(t.presenceOf([ROOM], [ID])).toEqual({ kind: "never-seen" });
    expect(t.presenceOf([ROOM], ["bob"])).toMatchObject({ kind: "connected" });
    expect(t.roomsWithConnected()).toEqual([ROOM]);
    t.apply({ kind: "room-finished", room: ROOM, at: 10_100 });
    expect(t.presenceOf([ROOM], ["bob"])).toMatchObject({ kind: "gone", reason: "ROOM_FINISHED" });
    expect(t.roomsWithConnected()).toEqual([]);
  });

  test("a presence asked again after any change of its sid tells the change; unchanged, it is the same answer", () => {
    const t = new SfuPresenceTracker(0);
    t.apply(signal("joined", "PA_1", 100));
    const first = t.presenceOf([ROOM], [ID]);
    expect(first).toEqual(connected("PA_1", 100));
    t.apply(signal("joined", "PA_1", 120));
    expect(t.presenceOf([ROOM], [ID])).toBe(first);
    t.apply({ kind: "snapshot", room: ROOM, at: 150, participants: [] });
    expect(t.presenceOf([ROOM], [ID])).toEqual(gone("PA_1", 150, "ABSENT_FROM_SNAPSHOT"));
    t.apply(signal("joined", "PA_2", 200));
    expect(t.presenceOf([ROOM], [ID])).toEqual(connected("PA_2", 200));
    t.apply(signal("joined", "PA_3", 300));
    expect(t.presenceOf([ROOM], [ID])).toEqual(connected("PA_3", 300));
    t.apply(signal("left", "PA_3", 350, "CLIENT_INITIATED"));
    // PA_2 ended at 300 when PA_3 connected; PA_3, gone last, is the answer.
    expect(t.presenceOf([ROOM], [ID])).toEqual(gone("PA_3", 350, "CLIENT_INITIATED"));
    t.apply(signal("joined", "PA_4", 400));
    t.apply({ kind: "room-finished", room: ROOM, at: 500 });
    expect(t.presenceOf([ROOM], [ID])).toEqual(gone("PA_4", 500, "ROOM_FINISHED"));
  });
});
