// Resync: reads room state as the bot or else as a joined local member, replaces our view, reports unreadable rooms.
import { MatrixRequestError } from "../../../src/app/ports/matrix";
import { ALICE, BOB, ROOM, roomMember, sessionJoin, sessionLeave, stickyJoin } from "../domain/builders";
import { BOT, CAROL, flush, Harness } from "./harness";

const readers = (h: Harness) =>
  h.matrix.calls.flatMap((c) =>
    c.method === "roomState" ? [c.as.kind === "bot" ? "bot" : c.as.userId] : [],
  );

/** The room's state was read once already (as when the service began to follow it); later reads are counted alone. */
async function alreadyRead(h: Harness): Promise<void> {
  expect(await h.resync.room(ROOM)).toBe(true);
  h.matrix.calls.splice(0);
}

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
  test("a leave processed while the state is read is not undone: the room is read again", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    const release = h.matrix.pause("roomState");
    const resyncing = h.resync.room(ROOM);
    // The answer to this read was taken before the leave; the leave reaches us before the answer does.
    h.matrix.hold(sessionLeave({ user: ALICE, device: "DEVA" }));
    h.intake.accept(sessionLeave({ user: ALICE, device: "DEVA" }));
    h.intake.drain();
    expect(h.state.room(ROOM)?.members()).toEqual([]);
    release();
    expect(await resyncing).toBe(true);
    expect(readers(h)).toEqual(["bot", "bot"]);
    expect(h.state.room(ROOM)?.members()).toEqual([]);
    expect(h.userSessions().map((s) => [s.deviceId, s.leaveReason])).toEqual([["DEVA", "left"]]);
    expect(h.logger.find("room changed while its state was read; reading it again", "debug")).toHaveLength(1);
  });

  test("a journaled join still pending when the read returns is applied first, then the snapshot", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE, BOB] }));
    await alreadyRead(h);
    const join = sessionJoin({ user: BOB, device: "DEVB" });
    h.matrix.hold(join);
    // Journaled, not yet processed: the read that follows already contains it.
    h.intake.accept(join);
    expect(await h.resync.room(ROOM)).toBe(true);
    expect(readers(h)).toEqual(["bot", "bot"]);
    expect(h.userSessions().map((s) => [s.deviceId, s.leaveReason, s.joinedBeforeTracking])).toEqual([
      ["DEVB", null, false],
    ]);
  });

  test("reads of one room asked for at once run one after the other: an older snapshot never lands last", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    const read = h.matrix.roomState.bind(h.matrix);
    const answers: (() => void)[] = [];
    // Each answer is held until the test lets it go; the snapshot is the state when the read was asked.
    h.matrix.roomState = async (roomId, as) => {
      const snapshot = await read(roomId, as);
      return new Promise((resolve) => {
        answers.push(() => {
          resolve(snapshot);
        });
      });
    };
    const first = h.resync.room(ROOM);
    await flush();
    // The homeserver moves on (the leave reaches us later); a second read is asked for.
    h.matrix.hold(sessionLeave({ user: ALICE, device: "DEVA" }));
    const second = h.resync.room(ROOM);
    await flush();
    // Answers come back newest first, whichever reads are waiting.
    while (answers.length > 0) {
      answers.pop()?.();
      await flush();
    }
    expect(await Promise.all([first, second])).toEqual([true, true]);
    expect(h.state.room(ROOM)?.members()).toEqual([]);
    expect(readers(h)).toEqual(["bot", "bot"]);
  });

  test("a room that changes during every read keeps its live view and says so", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE] }));
    await alreadyRead(h);
    const read = h.matrix.roomState.bind(h.matrix);
    let joins = 0;
    // Every answer is overtaken by a join that reaches us first.
    h.matrix.roomState = (roomId, as) => {
      const answer = read(roomId, as);
      const join = sessionJoin({ user: ALICE, device: `DEV${joins++}` });
      h.matrix.hold(join);
      h.intake.accept(join);
      return answer;
    };
    expect(await h.resync.room(ROOM)).toBe(true);
    expect(readers(h)).toEqual(["bot", "bot", "bot"]);
    expect(
      h.logger.find("room kept changing while its state was read; it keeps its live view", "info")[0]?.fields,
    ).toMatchObject({ room: ROOM, reads: 3 });
    expect(
      h.state
        .room(ROOM)
        ?.members()
        .map((m) => m.deviceId),
    ).toEqual(["DEV0", "DEV1", "DEV2"]);
  });
});
