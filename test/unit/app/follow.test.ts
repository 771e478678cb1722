// Following calls, not the homeserver: what is journaled and kept per room, the first read of a room, eviction.
import {
  ALICE,
  BOB,
  CALL_MEMBER,
  ROOM,
  roomCreate,
  roomMember,
  sessionJoin,
  sessionLeave,
  stickyJoin,
  stickyLeave,
  T0,
} from "../domain/builders";
import { BOT, CAROL, Harness, powerLevels } from "./harness";

const HOUR = 3_600_000;

/** Who the room's state was read as, in order. */
const readers = (h: Harness) =>
  h.matrix.calls.flatMap((c) =>
    c.method === "roomState" ? [c.as.kind === "bot" ? "bot" : c.as.userId] : [],
  );

/** Everything the database keeps to follow the room (its history aside). */
function kept(h: Harness) {
  return {
    room: h.store.room(ROOM) !== null,
    slots: h.store.slots(ROOM).length,
    journaled: h.store.db.prepare("SELECT count(*) AS n FROM inbox WHERE room_id = ?").get(ROOM),
  };
}

describe("following rooms with calls", () => {
  test("room events of a room without a call (and without the bot) are neither journaled nor kept", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE, BOB], botLevel: null }), roomMember(BOB, "leave"));
    expect(h.state.room(ROOM)).toBeUndefined();
    expect(kept(h)).toEqual({ room: false, slots: 0, journaled: { n: 0 } });
    expect(h.metrics.of("matrixEvent")).toEqual([
      ["m.room.create", "ignored"],
      ["m.room.power_levels", "ignored"],
      ["m.room.member", "ignored"],
      ["m.room.member", "ignored"],
      ["m.room.member", "ignored"],
    ]);
  });

  test("a room's first call event makes it followed and reads its state once, as a member when the bot is not in", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE, BOB], botLevel: null }));
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA" }));
    expect(readers(h)).toEqual(["bot", ALICE]);
    const room = h.state.room(ROOM);
    // What the read brought: the room version (from m.room.create) and who is joined.
    expect(room?.roomVersion).toBe("12");
    expect([room?.isJoined(ALICE), room?.isJoined(BOB), room?.isJoined(CAROL)]).toEqual([
      true,
      true,
      "unknown",
    ]);
    // Later call events and room events of the followed room are applied live, with no further read.
    await h.deliver(sessionJoin({ user: BOB, device: "DEVB" }), roomMember(CAROL, "join"));
    expect(readers(h)).toEqual(["bot", ALICE]);
    expect(room?.isJoined(CAROL)).toBe(true);
  });

  test("events after a room's first call event in the same transaction are kept, before it is processed", () => {
    const h = new Harness();
    for (const e of h.room({ users: [ALICE], botLevel: null })) h.intake.accept(e);
    const join = sessionJoin({ user: ALICE, device: "DEVA", foci: [] });
    const leave = roomMember(ALICE, "leave");
    h.intake.accept(join);
    h.intake.accept(leave);
    expect(h.store.pendingInbox(10).map((e) => e.eventId)).toEqual([join.event_id, leave.event_id]);
    h.intake.drain();
    expect(h.state.room(ROOM)?.isJoined(ALICE)).toBe(false);
    // Once everything journaled is processed, only the call state says what is followed.
    h.intake.accept(roomMember(BOB, "join", { roomId: "!other:example.org" }));
    expect(h.store.pendingInbox(10)).toEqual([]);
  });

  test("until the room's state is read, a member whose room membership is unknown is not called not_joined", async () => {
    const h = new Harness();
    // Bob's membership is a leftover from a call long ago: he has left the room since, and it still holds it.
    h.matrix.hold(roomCreate("12"));
    h.matrix.hold(roomMember(ALICE, "join"));
    h.matrix.hold(sessionJoin({ user: BOB, device: "DEVB", foci: [] }));
    h.matrix.hold(roomMember(BOB, "leave"));
    const release = h.matrix.pause("roomState");
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", foci: [] }));
    expect(h.judged(ALICE, "DEVA").verdict.kind).toBe("alive");
    expect(h.state.room(ROOM)?.isJoined(ALICE)).toBe("unknown");
    release();
    await h.resync.settled();
    await h.settle();
    expect(h.judged(ALICE, "DEVA").verdict.kind).toBe("alive");
    expect(h.judged(BOB, "DEVB").verdict).toMatchObject({ kind: "ghost", reason: "not_joined" });
  });

  test("a user who leaves a room that had no call before, while their membership stays, is cleared (not_joined)", async () => {
    const h = new Harness();
    // No call and no bot in the room yet: none of this is kept.
    await h.deliver(...h.room({ users: [ALICE, BOB], botLevel: null }));
    expect(h.state.room(ROOM)).toBeUndefined();
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", foci: [] }));
    await h.deliver(roomMember(ALICE, "leave"));
    expect(h.judged(ALICE, "DEVA").verdict).toMatchObject({ kind: "ghost", reason: "not_joined" });
    // Alice left, so nothing can write as her; the bot is not in the room yet.
    expect(h.audit("clear_failed").map((r) => [r.reason, r.evidence?.detail])).toEqual([
      ["not_joined", "could not re-read the key before clearing: forbidden"],
    ]);
    // Bob invites the bot, with the power to write call memberships: it joins, and at the next try clears her key.
    h.matrix.hold(powerLevels({ [BOT]: 50 }));
    await h.deliver({ ...roomMember(BOT, "invite", { sender: BOB }), state_key: BOT });
    expect(h.state.room(ROOM)?.isJoined(BOT)).toBe(true);
    await h.advance(30_100);
    await h.settle();
    const key = sessionJoin({ user: ALICE, device: "DEVA" }).state_key;
    expect(h.matrix.current(ROOM, CALL_MEMBER, key ?? "")?.content).toEqual({});
    expect(h.audit("clear").map((r) => [r.reason, r.method, r.userId])).toEqual([
      ["not_joined", "write_as_bot", ALICE],
    ]);
    await h.echo();
    expect(h.state.room(ROOM)?.allSlotMembers()).toEqual([]);
    expect(h.userSessions().map((s) => [s.deviceId, s.leaveReason])).toEqual([["DEVA", "left_room"]]);
  });
});

describe("forgetting rooms whose calls ended", () => {
  /** rooms.evict_after's default. */
  const evictAfter = HOUR;

  test("a room is forgotten an hour after its call ended; its history stays, and its next call brings it back", async () => {
    const h = new Harness();
    await h.deliver(
      ...h.room({ users: [ALICE], botLevel: null }),
      sessionJoin({ user: ALICE, device: "DEVA" }),
    );
    await h.deliver(sessionLeave({ user: ALICE, device: "DEVA" }));
    expect(h.app.evictIdle(h.clock.now())).toEqual([]);
    await h.advance(evictAfter - 1);
    expect(h.app.evictIdle(h.clock.now())).toEqual([]);
    await h.advance(1);
    expect(h.app.evictIdle(h.clock.now())).toEqual([ROOM]);
    expect(h.state.room(ROOM)).toBeUndefined();
    expect(kept(h).room).toBe(false);
    expect(kept(h).slots).toBe(0);
    expect(h.store.callSessions(ROOM, 10)).toMatchObject([{ endedAt: T0 }]);
    // Its room events are no longer kept; its next call event brings it back and reads its state again.
    await h.deliver(roomMember(BOB, "join"));
    expect(h.state.room(ROOM)).toBeUndefined();
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + 2 * HOUR }));
    expect(readers(h)).toEqual(["bot", ALICE, "bot", ALICE]);
    expect(
      h.state
        .room(ROOM)
        ?.members()
        .map((m) => m.deviceId),
    ).toEqual(["DEVA"]);
    expect(h.store.callSessions(ROOM, 10)).toHaveLength(2);
  });

  test("a call event while a room is found idle starts its wait again", async () => {
    const h = new Harness();
    await h.deliver(
      ...h.room({ users: [ALICE], botLevel: null }),
      sessionJoin({ user: ALICE, device: "DEVA" }),
    );
    await h.deliver(sessionLeave({ user: ALICE, device: "DEVA" }));
    h.app.evictIdle(h.clock.now());
    await h.advance(evictAfter / 2);
    // A short call came and went between two checks.
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + HOUR / 2 }));
    await h.deliver(sessionLeave({ user: ALICE, device: "DEVA", ts: T0 + HOUR / 2 + 1_000 }));
    await h.advance(evictAfter / 2);
    expect(h.app.evictIdle(h.clock.now())).toEqual([]);
    await h.advance(evictAfter);
    expect(h.app.evictIdle(h.clock.now())).toEqual([ROOM]);
  });

  test("a room with a membership, or with the bot in it, is kept however long", async () => {
    const h = new Harness();
    const other = "!bot-room:example.org";
    await h.deliver(
      ...h.room({ users: [ALICE], botLevel: null }),
      sessionJoin({ user: ALICE, device: "DEVA" }),
    );
    await h.deliver(roomMember(BOT, "join", { roomId: other }));
    expect(h.state.room(other)?.isJoined(BOT)).toBe(true);
    h.app.evictIdle(h.clock.now());
    await h.advance(2 * evictAfter);
    expect(h.app.evictIdle(h.clock.now())).toEqual([]);
    expect([h.state.room(ROOM)?.memberCount, h.state.room(other)?.roomId]).toEqual([1, other]);
  });

  test("rooms.evict_after sets how long a room without calls is kept", async () => {
    const h = new Harness({ evictAfterMs: 600_000 });
    await h.deliver(
      ...h.room({ users: [ALICE], botLevel: null }),
      sessionJoin({ user: ALICE, device: "DEVA" }),
    );
    await h.deliver(sessionLeave({ user: ALICE, device: "DEVA" }));
    h.app.evictIdle(h.clock.now());
    await h.advance(600_000);
    expect(h.app.evictIdle(h.clock.now())).toEqual([ROOM]);
  });

  test("a sticky leave still in force keeps its room, so that a late older join cannot come back", async () => {
    const h = new Harness();
    await h.deliver(
      ...h.room({ users: [ALICE], botLevel: null }),
      stickyJoin({ user: ALICE, device: "DEVA" }),
    );
    await h.deliver(stickyLeave({ user: ALICE, device: "DEVA", ts: T0 + 1_000 }));
    expect(h.state.room(ROOM)?.idle).toBe(false);
    h.state.evictIdle(h.clock.now(), 0);
    expect(h.state.evictIdle(h.clock.now(), 0)).toEqual([]);
  });
});
