// Never silence in encrypted rooms: one notice per room and day for messages the bot cannot read, none elsewhere.
import { FollowFilter } from "../../../src/app/intake/follow-filter";
import { MatrixRequestError } from "../../../src/app/ports/matrix";
import { ALICE, BOB, type ClientEvent, nextEventId, ROOM, roomMember, T0 } from "../domain/builders";
import { BOT, Harness } from "./harness";

const OTHER = "!other:example.org";
const DAY = 86_400_000;

function encrypted(sender: string, roomId = ROOM, sticky = false): ClientEvent {
  return {
    event_id: nextEventId(),
    type: "m.room.encrypted",
    room_id: roomId,
    sender,
    origin_server_ts: T0,
    content: {
      algorithm: "m.megolm.v1.aes-sha2",
      ciphertext: "AwgAEnB…",
      device_id: "DEVA",
      sender_key: "abc",
      session_id: "s1",
    },
    ...(sticky ? { msc4354_sticky: { duration_ms: 3_600_000 } } : {}),
  };
}

async function ring(): Promise<Harness> {
  const h = new Harness();
  await h.deliver(...h.room({ users: [ALICE, BOB] }));
  return h;
}

const noticesIn = (h: Harness, roomId: string): string[] =>
  h.matrix.notices.filter((n) => n.roomId === roomId).map((n) => n.text);

describe("an encrypted message the bot cannot read", () => {
  test("gets one plain notice that says where to ask instead, naming the room", async () => {
    const h = await ring();
    await h.deliver(encrypted(BOB));
    const [notice, ...more] = noticesIn(h, ROOM);
    expect(more).toEqual([]);
    expect(notice).toContain("This room is end-to-end encrypted");
    expect(notice).toContain(`!rtc status ${ROOM}`);
    expect(notice).toContain("at most once a day");
    expect(h.logger.find("encrypted room: told that commands cannot be read here", "info")).toHaveLength(1);
  });

  test("once per room and day: a burst gets one notice, the next day one more", async () => {
    const h = await ring();
    await h.deliver(encrypted(BOB), encrypted(ALICE), encrypted(BOB));
    await h.deliver(encrypted(ALICE));
    expect(noticesIn(h, ROOM)).toHaveLength(1);
    await h.advance(DAY - 1);
    await h.deliver(encrypted(BOB));
    expect(noticesIn(h, ROOM)).toHaveLength(1);
    await h.advance(1);
    await h.deliver(encrypted(BOB));
    expect(noticesIn(h, ROOM)).toHaveLength(2);
  });

  test("a sticky encrypted event (possibly a call membership) and the bot's own get no notice", async () => {
    const h = await ring();
    await h.deliver(encrypted(ALICE, ROOM, true), encrypted(BOT));
    expect(h.matrix.notices).toEqual([]);
  });

  test("rooms the bot is not in get nothing (the homeserver sends every room's events)", async () => {
    const h = await ring();
    await h.deliver(encrypted(BOB, OTHER));
    expect(h.matrix.notices).toEqual([]);
    expect(h.matrix.calls.filter((c) => c.method === "joinedRooms")).toHaveLength(1);
  });

  test("follows the bot's own membership: a room joined later is told, a room left is not", async () => {
    const h = await ring();
    await h.deliver(encrypted(BOB, OTHER));
    await h.deliver(roomMember(BOT, "join", { roomId: OTHER }), encrypted(BOB, OTHER));
    expect(noticesIn(h, OTHER)).toHaveLength(1);
    await h.deliver(roomMember(BOT, "leave", { roomId: ROOM }), encrypted(BOB, ROOM));
    expect(noticesIn(h, ROOM)).toEqual([]);
    expect(h.matrix.calls.filter((c) => c.method === "joinedRooms")).toHaveLength(1);
  });

  test("when the joined rooms cannot be read, it says so and tries again with the next message", async () => {
    const h = await ring();
    h.matrix.fail("joinedRooms", new MatrixRequestError("unreachable", 0, null));
    await h.deliver(encrypted(BOB));
    expect(h.matrix.notices).toEqual([]);
    expect(h.logger.find("could not read the rooms the bot is in", "warn")).toHaveLength(1);
    await h.deliver(encrypted(BOB));
    expect(noticesIn(h, ROOM)).toHaveLength(1);
  });

  test("a notice that cannot be posted is logged, not thrown", async () => {
    const h = await ring();
    h.matrix.fail("sendNotice", new MatrixRequestError("forbidden", 403, "M_FORBIDDEN"));
    await h.deliver(encrypted(BOB));
    expect(h.logger.find("could not post the encrypted room notice", "warn")).toHaveLength(1);
  });
});

describe("the intake filter", () => {
  test("journals encrypted messages only while a notice is due in a room the bot is in", async () => {
    const h = await ring();
    const filter = new FollowFilter({ followed: () => true, botUserId: BOT, bot: h.bot });
    const wanted = (type: string, event: Record<string, unknown>) => filter.wanted(type, event);
    const bob = encrypted(BOB);
    expect(wanted(bob.type, { ...bob })).toBe(true); // the joined rooms are not read yet
    await h.settle();
    expect(wanted(bob.type, { ...encrypted(BOB, OTHER) })).toBe(false);
    expect(wanted(bob.type, { ...encrypted(BOT) })).toBe(false);
    expect(wanted(bob.type, { ...encrypted(ALICE, OTHER, true) })).toBe(true);
    await h.deliver(bob);
    expect(wanted(bob.type, { ...encrypted(BOB) })).toBe(false);
  });

  test("messages only when they look like commands; other followed types always", async () => {
    const h = await ring();
    const filter = new FollowFilter({ followed: () => true, botUserId: BOT, bot: h.bot });
    const wanted = (type: string, event: Record<string, unknown>) => filter.wanted(type, event);
    const msg = (body: string) => ({ type: "m.room.message", content: { msgtype: "m.text", body } });
    expect(wanted("m.room.message", msg("!rtc status"))).toBe(true);
    expect(wanted("m.room.message", msg("hello"))).toBe(false);
    expect(wanted("m.room.member", { ...roomMember(ALICE, "join") })).toBe(true);
  });
});
