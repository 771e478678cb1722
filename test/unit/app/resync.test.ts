// Resync: reads room state as the bot or else as a joined local member, replaces our view, reports unreadable rooms.
import { MatrixRequestError } from "../../../src/app/ports/matrix";
import { ALICE, BOB, ROOM, roomMember, sessionJoin, sessionLeave, stickyJoin } from "../domain/builders";
import { BOT, CAROL, Harness } from "./harness";

const readers = (h: Harness) =>
  h.matrix.calls.flatMap((c) =>
    c.method === "roomState" ? [c.as.kind === "bot" ? "bot" : c.as.userId] : [],
  );

describe("Resync", () => {
  test("reads as the bot and replaces our view with the room's state", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE, BOB] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    h.matrix.hold(sessionLeave({ user: ALICE, device: "DEVA" }));
    h.matrix.hold(sessionJoin({ user: BOB, device: "DEVB" }));
    const report = await h.resync.all();
    expect(report).toEqual({ rooms: 1, synced: 1, unreadable: [] });
    expect(readers(h)).toEqual(["bot"]);
    expect(
      h.state
        .room(ROOM)
        ?.members()
        .map((m) => m.deviceId),
    ).toEqual(["DEVB"]);
    expect(h.userSessions().map((s) => [s.deviceId, s.leaveReason, s.joinedBeforeTracking])).toEqual([
      ["DEVA", "left", false],
      ["DEVB", null, true],
    ]);
  });

  test("falls back to reading as a joined local user it tracks in the room", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE], botLevel: null }), sessionJoin({ user: ALICE, device: "DEVA" }));
    h.matrix.hold(sessionLeave({ user: ALICE, device: "DEVA" }));
    expect(await h.resync.room(ROOM)).toBe(true);
    expect(readers(h)).toEqual(["bot", ALICE]);
    expect(h.state.room(ROOM)?.members()).toEqual([]);
  });

  test("never reads as a remote user or one who left the room: the room is reported unreadable", async () => {
    const h = new Harness();
    h.feed(
      ...h.room({ users: [BOB, CAROL], botLevel: null }),
      sessionJoin({ user: CAROL, device: "DEVC" }),
      sessionJoin({ user: BOB, device: "DEVB" }),
      roomMember(BOB, "leave"),
    );
    const report = await h.resync.all();
    expect(report).toEqual({ rooms: 1, synced: 0, unreadable: [ROOM] });
    expect(readers(h)).toEqual(["bot"]);
    expect(h.logger.find("rooms whose state could not be read", "warn")[0]?.fields).toMatchObject({
      count: 1,
    });
  });

  test("a room without memberships that cannot be read is not reported", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE], botLevel: null }));
    const report = await h.resync.all();
    expect(report.unreadable).toEqual([]);
    expect(h.logger.find("rooms whose state could not be read")).toEqual([]);
  });

  test("a failing read keeps the room's last known state and reports it", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    h.matrix.fail("roomState", new MatrixRequestError("bad gateway", 502, null));
    const report = await h.resync.all();
    expect(report.unreadable).toEqual([ROOM]);
    expect(
      h.state
        .room(ROOM)
        ?.members()
        .map((m) => m.deviceId),
    ).toEqual(["DEVA"]);
    expect(h.logger.find("resync of a room failed", "warn")).toHaveLength(1);
  });

  test("syncs the bot's rooms unknown to the database, and the database's rooms when listing fails", async () => {
    const other = "!other:example.org";
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE] }));
    h.matrix.hold(roomMember(BOT, "join", { roomId: other }));
    h.matrix.hold(roomMember(ALICE, "join", { roomId: other }));
    h.matrix.hold(sessionJoin({ user: ALICE, device: "DEVA", roomId: other }));
    expect(await h.resync.all()).toEqual({ rooms: 2, synced: 2, unreadable: [] });
    expect(
      h.state
        .room(other)
        ?.members()
        .map((m) => m.deviceId),
    ).toEqual(["DEVA"]);
    h.matrix.fail("joinedRooms", new MatrixRequestError("down", 0, null));
    expect((await h.resync.all()).rooms).toBe(2);
    expect(h.logger.find("could not list the bot's rooms", "warn")).toHaveLength(1);
  });

  test("keeps sticky memberships, which are not room state", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE] }), stickyJoin({ user: ALICE, device: "DEVA" }));
    await h.resync.all();
    expect(
      h.state
        .room(ROOM)
        ?.members()
        .map((m) => m.source.format),
    ).toEqual(["sticky"]);
    expect(h.userSessions()).toHaveLength(1);
  });
});
