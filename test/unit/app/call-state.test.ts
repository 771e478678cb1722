// CallState: restart from the store (state, first-seen instants, open sessions), and call history of sessions.
import {
  ALICE,
  BOB,
  legacyArrayEvent,
  ROOM,
  roomMember,
  sessionJoin,
  sessionLeave,
  stickyJoin,
  T0,
} from "../domain/builders";
import { Harness } from "./harness";

/** A second app instance on the same database, as after a restart, `ms` later. */
function restart(before: Harness, ms: number): Harness {
  const after = new Harness({ store: before.store, start: before.clock.now() + ms });
  after.state.restore();
  return after;
}

describe("CallState restore", () => {
  test("rebuilds the members and open sessions; a leave after the restart closes the session opened before", async () => {
    const a = new Harness();
    await a.deliver(
      ...a.room({ users: [ALICE, BOB] }),
      sessionJoin({ user: ALICE, device: "DEVA" }),
      sessionJoin({ user: BOB, device: "DEVB" }),
    );
    await a.advance(30_000);
    await a.deliver(sessionJoin({ user: ALICE, device: "DEVA", createdTs: T0, ts: T0 + 30_000 }));
    const b = restart(a, 30_000);
    const devices = b.state
      .room(ROOM)
      ?.members()
      .map((m) => m.deviceId);
    expect(devices?.sort()).toEqual(["DEVA", "DEVB"]);
    expect(b.member(ALICE, "DEVA").source.receivedAt).toBe(T0 + 30_000);
    expect(b.state.firstSeenAt(b.member(ALICE, "DEVA"))).toBe(T0);
    expect(b.state.openSessionOf(b.member(ALICE, "DEVA").key)?.joinedAt).toBe(T0);
    await b.deliver(sessionLeave({ user: ALICE, device: "DEVA", ts: T0 + 70_000 }));
    expect(b.userSessions().map((s) => [s.deviceId, s.leftAt, s.leaveReason])).toEqual([
      ["DEVA", T0 + 70_000, "left"],
      ["DEVB", null, null],
    ]);
    await b.deliver(sessionLeave({ user: BOB, device: "DEVB", ts: T0 + 80_000 }));
    const calls = b.store.callSessions(ROOM, 10);
    expect(calls).toMatchObject([
      { startedAt: T0, endedAt: T0 + 80_000, peakConcurrency: 2, kind: "answered" },
    ]);
    expect(b.store.userSessionsOfCall(calls[0]?.id ?? "")).toHaveLength(2);
  });

  test("first-seen instants come back from the open user sessions: no row per membership is written", async () => {
    const a = new Harness();
    await a.deliver(...a.room({ users: [ALICE, BOB] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    await a.advance(20_000);
    await a.deliver(sessionJoin({ user: BOB, device: "DEVB", ts: T0 + 20_000 }));
    const tables = a.store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables).not.toContainEqual({ name: "memberships" });
    const b = restart(a, 5_000);
    expect(b.state.firstSeenAt(b.member(ALICE, "DEVA"))).toBe(T0);
    expect(b.state.firstSeenAt(b.member(BOB, "DEVB"))).toBe(T0 + 20_000);
  });

  test("a redelivered join after the restart opens no second session", async () => {
    const a = new Harness();
    const join = sessionJoin({ user: ALICE, device: "DEVA" });
    await a.deliver(...a.room({ users: [ALICE] }), join);
    const b = restart(a, 1_000);
    await b.deliver(join, sessionJoin({ user: ALICE, device: "DEVA", createdTs: T0, ts: T0 + 1_000 }));
    expect(b.userSessions()).toHaveLength(1);
    expect(b.store.openCallSessions()).toHaveLength(1);
  });

  test("an event journaled but not processed before the crash is processed after the restart", async () => {
    const a = new Harness();
    await a.deliver(...a.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    a.intake.accept(sessionLeave({ user: ALICE, device: "DEVA", ts: T0 + 5_000 }));
    const b = restart(a, 1_000);
    b.intake.drain();
    await b.settle();
    expect(b.userSessions().map((s) => s.leaveReason)).toEqual(["left"]);
    expect(b.store.openUserSessions()).toEqual([]);
  });

  test("a user who left the room is still known to have left after a restart", async () => {
    const a = new Harness();
    await a.deliver(
      ...a.room({ users: [ALICE] }),
      sessionJoin({ user: ALICE, device: "DEVA", foci: [] }),
      roomMember(ALICE, "leave"),
    );
    expect(a.judged(ALICE, "DEVA").verdict).toMatchObject({ kind: "ghost", reason: "not_joined" });
    const b = restart(a, 1_000);
    expect(b.store.openUserSessions()).toEqual([]);
    expect(b.state.room(ROOM)?.isJoined(ALICE)).toBe(false);
    expect(b.judged(ALICE, "DEVA").verdict).toMatchObject({ kind: "ghost", reason: "not_joined" });
  });
});

describe("CallState slots on disk", () => {
  test("keep each event as sent, not what the homeserver added (but a sticky event's time left), and restore alike", async () => {
    const a = new Harness();
    const added = { age: 5, prev_content: { pad: "p".repeat(60_000) }, prev_sender: BOB };
    const join = sessionJoin({ user: ALICE, device: "DEVA" });
    const member = roomMember(BOB, "join");
    const sticky = stickyJoin({ user: BOB, device: "DEVB", ttlMs: 600_000 });
    await a.deliver(
      ...a.room({ users: [ALICE] }),
      { ...join, unsigned: added },
      { ...member, unsigned: added },
      { ...sticky, unsigned: { ...added, ...sticky.unsigned } },
    );
    const stored = a.store.slots(ROOM).map((s) => s.event as Record<string, unknown>);
    const byId = (id: string) => stored.find((e) => e.event_id === id);
    expect(byId(join.event_id)).toEqual(join);
    expect(byId(member.event_id)).toEqual(member);
    expect(byId(sticky.event_id)).toEqual(sticky);
    expect(JSON.stringify(stored).length).toBeLessThan(20_000);
    const b = restart(a, 1_000);
    const expiries = (h: Harness) =>
      h.state
        .room(ROOM)
        ?.members()
        .map((m) => [m.deviceId, m.expiresAt])
        .sort();
    expect(expiries(b)).toEqual(expiries(a));
    expect(b.state.room(ROOM)?.isJoined(BOB)).toBe(true);
  });
});

describe("CallState call history", () => {
  test("a replaced session stays in its call's history", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + 10_000 }));
    const sessions = h.userSessions();
    expect(sessions.map((s) => s.leaveReason)).toEqual(["replaced", null]);
    expect(sessions.map((s) => s.callSessionId === null)).toEqual([false, false]);
  });

  test("every device of a user who left the room keeps its call", async () => {
    const h = new Harness();
    await h.deliver(
      ...h.room({ users: [ALICE, BOB] }),
      legacyArrayEvent({ user: ALICE, entries: [{ deviceId: "DEVA" }, { deviceId: "DEVA2" }] }),
      sessionJoin({ user: BOB, device: "DEVB" }),
    );
    await h.deliver(roomMember(ALICE, "leave", { ts: T0 + 10_000 }));
    const [call] = h.store.callSessions(ROOM, 10);
    const inCall = h.store.userSessionsOfCall(call?.id ?? "");
    expect(inCall.map((s) => `${s.deviceId}:${s.leaveReason ?? "open"}`).sort()).toEqual([
      "DEVA2:left_room",
      "DEVA:left_room",
      "DEVB:open",
    ]);
  });
});

describe("CallState sticky lapse", () => {
  const ids = (h: Harness) => (h.state.room(ROOM)?.members() ?? []).map((m) => m.deviceId).sort();

  test("a sticky membership restored after a restart still lapses at its end", async () => {
    const a = new Harness();
    await a.deliver(
      ...a.room({ users: [ALICE] }),
      stickyJoin({ user: ALICE, device: "DEVA", ttlMs: 60_000 }),
    );
    const b = restart(a, 10_000);
    expect(ids(b)).toEqual(["DEVA"]);
    expect(b.state.expireSticky(T0 + 55_000)).toEqual([]);
    const lapsed = b.state.expireSticky(T0 + 61_000);
    expect(lapsed.flatMap((applied) => applied.changes.map((c) => c.kind))).toEqual(["left"]);
    expect(ids(b)).toEqual([]);
  });

  test("a sweep looks only at the rooms where something sticky is due, however many rooms are followed", async () => {
    const h = new Harness();
    const other = "!other:example.org";
    await h.deliver(
      ...h.room({ users: [ALICE] }),
      stickyJoin({ user: ALICE, device: "DEVA", ttlMs: 60_000 }),
    );
    await h.deliver(sessionJoin({ user: BOB, device: "DEVB", roomId: other }));
    const room = h.state.room(ROOM);
    const plain = h.state.room(other);
    if (room === undefined || plain === undefined) throw new Error("rooms not followed");
    const lookedAt = jest.spyOn(room, "expireSticky");
    const plainLookedAt = jest.spyOn(plain, "expireSticky");
    h.state.expireSticky(T0 + 30_000);
    expect(lookedAt).not.toHaveBeenCalled();
    expect(h.state.expireSticky(T0 + 61_000)).toHaveLength(1);
    expect(lookedAt).toHaveBeenCalledTimes(1);
    expect(plainLookedAt).not.toHaveBeenCalled();
  });
});

describe("CallState sticky lapse after a failed sweep", () => {
  test("a sweep that fails in one room leaves the other due rooms to the next sweep", async () => {
    const h = new Harness();
    const other = "!other:example.org";
    await h.deliver(
      ...h.room({ users: [ALICE] }),
      stickyJoin({ user: ALICE, device: "DEVA", ttlMs: 30_000 }),
      stickyJoin({ user: BOB, device: "DEVB", roomId: other, ttlMs: 60_000 }),
    );
    const room = h.state.room(ROOM);
    if (room === undefined || h.state.room(other) === undefined) throw new Error("rooms not followed");
    // The first room due fails (whatever the cause): the sweep stops there.
    jest.spyOn(room, "expireSticky").mockImplementationOnce(() => {
      throw new Error("sweep failed");
    });
    expect(() => h.state.expireSticky(T0 + 61_000)).toThrow("sweep failed");
    // The next sweep ends both memberships: neither room was dropped from the sweep.
    const lapsed = h.state.expireSticky(T0 + 62_000);
    expect(lapsed.map((applied) => applied.roomId).sort()).toEqual([other, ROOM].sort());
    expect(h.state.room(other)?.members() ?? []).toEqual([]);
  });
});
