// Commands about another room: targeting by id or alias, permissions judged in the target, answers where asked.
import { MatrixRequestError } from "../../../src/app/ports/matrix";
import {
  ALICE,
  BOB,
  type ClientEvent,
  nextEventId,
  ROOM,
  roomCreate,
  roomMember,
  sessionJoin,
  T0,
} from "../domain/builders";
import { BOT, DEPLOYMENT, Harness, identityOf, LK_ROOM, powerLevels } from "./harness";

const MOD = "@mod:example.org";
const ADMIN = "@admin:example.org";
/** Not in the call room; level 100 in the management room. */
const EVE = "@eve:example.org";
const MGMT = "!mgmt:example.org";
const ALIAS = "#standup:example.org";

const inMgmt = (e: ClientEvent): ClientEvent => ({ ...e, room_id: MGMT });

/**
 * The call room (Alice its creator, Mod at 50, Bob at 0) with a call: Alice expired and gone from the SFU (a
 * ghost), Bob connected. A management room where Bob and Eve are at 100 and everyone but Alice is joined.
 */
async function twoRooms(): Promise<Harness> {
  const h = new Harness();
  h.feed(
    ...h.room({ users: [ALICE, BOB, MOD] }),
    powerLevels({ [BOT]: 50, [MOD]: 50 }),
    sessionJoin({ user: ALICE, device: "DEVA", expires: 1_000 }),
    sessionJoin({ user: BOB, device: "DEVB" }),
    ...[roomCreate("12"), roomMember(BOT, "join"), powerLevels({ [BOT]: 50, [BOB]: 100, [EVE]: 100 })].map(
      inMgmt,
    ),
    ...[BOB, MOD, EVE, ADMIN].map((u) => inMgmt(roomMember(u, "join"))),
  );
  h.livekit.connect(DEPLOYMENT, LK_ROOM, identityOf(BOB, "DEVB"), "PB");
  h.clock.advance(61_000);
  await h.sfu.pollAll();
  return h;
}

/** Says `body` in the management room; returns the replies posted there (and checks none went elsewhere). */
async function ask(h: Harness, sender: string, body: string): Promise<string> {
  const before = h.matrix.notices.length;
  h.bot.onMessage({
    event_id: nextEventId(),
    type: "m.room.message",
    room_id: MGMT,
    sender,
    origin_server_ts: T0,
    content: { msgtype: "m.text", body },
  });
  await h.settle();
  const posted = h.matrix.notices.slice(before);
  expect(posted.map((n) => n.roomId).filter((r) => r !== MGMT)).toEqual([]);
  return posted.map((n) => n.text).join("\n---\n");
}

describe("a command names the room it is about", () => {
  test("status by room id is answered in the asking room, headed with the room, about that room's call", async () => {
    const h = await twoRooms();
    const reply = await ask(h, BOB, `!rtc status ${ROOM}`);
    expect(reply.split("\n")[0]).toBe(`About ${ROOM}:`);
    expect(reply).toContain("Call m.call: 2 member(s)");
    expect(reply).toMatch(/@bob:example\.org \(DEVB\).*SFU: connected/);
    expect(await ask(h, BOB, "!rtc status")).toBe("No call in this room right now.");
  });

  test("an alias is looked up in the room directory, and the reply names both", async () => {
    const h = await twoRooms();
    h.matrix.aliases.set(ALIAS, ROOM);
    const reply = await ask(h, BOB, `!rtc ghosts ${ALIAS}`);
    expect(reply.split("\n")[0]).toBe(`About ${ALIAS} (${ROOM}):`);
    expect(reply).toContain("@alice:example.org (DEVA) · expired · clearable");
    expect(h.matrix.calls.filter((c) => c.method === "resolveAlias")).toEqual([
      { method: "resolveAlias", alias: ALIAS },
    ]);
  });

  test("the room may stand anywhere among the arguments: history with a count, clean with --dry-run", async () => {
    const h = await twoRooms();
    expect(await ask(h, BOB, `!rtc history 3 ${ROOM}`)).toContain(`About ${ROOM}:`);
    const dry = await ask(h, MOD, `!rtc clean --dry-run ${ROOM}`);
    expect(dry).toContain("Clean (dry run)");
    expect(dry).toContain("@alice:example.org (DEVA): would_clear");
    expect(h.matrix.writes()).toEqual([]);
  });

  test("naming the room it is asked in is the same as naming none", async () => {
    const h = await twoRooms();
    expect(await ask(h, BOB, `!rtc status ${MGMT}`)).toBe("No call in this room right now.");
  });

  test.each([
    [`!rtc status ${ROOM} ${MGMT}`, "status names more than one room. Usage:\n!rtc status [room]"],
    [
      "!rtc status #no-server",
      "status expects a room id (!abc…) or an alias (#name:server) as the room. Usage:\n!rtc status [room]",
    ],
    [
      `!rtc status !${"x".repeat(300)}`,
      "status expects a room id (!abc…) or an alias (#name:server) as the room. Usage:\n!rtc status [room]",
    ],
    [`!rtc status ${ROOM} now`, "status takes no arguments. Usage:\n!rtc status [room]"],
    [`!rtc end ${ROOM}`, "end takes no arguments. Usage:\n!rtc end"],
  ])("bad room arguments get the usage: %s", async (body, expected) => {
    const h = await twoRooms();
    expect(await ask(h, ADMIN, body)).toBe(expected);
    expect(h.matrix.calls.filter((c) => c.method === "resolveAlias")).toEqual([]);
    expect(h.matrix.writes()).toEqual([]);
  });
});

describe("permissions are judged in the room the command is about", () => {
  test("someone not joined there is refused, whatever their level where they ask, and nothing of it is shown", async () => {
    const h = await twoRooms();
    const status = await ask(h, EVE, `!rtc status ${ROOM}`);
    expect(status).toBe(
      `"status" about ${ROOM}: you are not joined to that room, so the service does not answer about it for you.`,
    );
    expect(status).not.toContain("@bob");
    expect(await ask(h, EVE, `!rtc clean ${ROOM}`)).toContain("you are not joined to that room");
    expect(h.matrix.writes()).toEqual([]);
    expect(h.audit("command")).toMatchObject(
      ["status", "clean"].map((reason) => ({
        roomId: ROOM,
        actor: EVE,
        reason,
        result: "refused",
        evidence: { asked_in: MGMT },
      })),
    );
  });

  test("an invitation is not a membership, and the reply says which membership it found", async () => {
    const h = await twoRooms();
    h.feed(roomMember(EVE, "invite", { sender: ALICE }));
    expect(await ask(h, EVE, `!rtc ghosts ${ROOM}`)).toBe(
      `"ghosts" about ${ROOM}: you are not joined to that room (your membership there is "invite"), so the service does not answer about it for you.`,
    );
  });

  test("a moderator command needs the level in the named room: the asking room's 100 does not count", async () => {
    const h = await twoRooms();
    expect(await ask(h, BOB, `!rtc clean ${ROOM}`)).toBe(`"clean" needs power level 50 or more in ${ROOM}.`);
    expect(h.matrix.writes()).toEqual([]);
  });

  test("a moderator of the named room cleans it from the management room; the audit names both rooms", async () => {
    const h = await twoRooms();
    const reply = await ask(h, MOD, `!rtc clean ${ROOM}`);
    expect(reply).toContain(`About ${ROOM}:`);
    expect(reply).toContain("@alice:example.org (DEVA): cleared");
    expect(h.matrix.writes()).toMatchObject([{ method: "putState", roomId: ROOM }]);
    expect(h.audit("command")).toMatchObject([
      { roomId: ROOM, actor: MOD, reason: "clean", result: "ok", evidence: { asked_in: MGMT } },
    ]);
  });

  test("an admin may ask about and clean a room they are not in", async () => {
    const h = await twoRooms();
    expect(await ask(h, ADMIN, `!rtc status ${ROOM}`)).toContain("Call m.call: 2 member(s)");
    expect(await ask(h, ADMIN, `!rtc clean ${ROOM}`)).toContain("@alice:example.org (DEVA): cleared");
  });

  test("a room the service is not in is refused, to admins too, with the reason", async () => {
    const h = await twoRooms();
    const elsewhere = "!elsewhere:example.org";
    for (const who of [ADMIN, BOB])
      expect(await ask(h, who, `!rtc status ${elsewhere}`)).toBe(
        `"status" about ${elsewhere}: the service is not in that room, so it can neither read nor change its calls. Invite it there first.`,
      );
  });

  test("history follows the named room's history visibility", async () => {
    const h = await twoRooms();
    h.feed({
      event_id: nextEventId(),
      type: "m.room.history_visibility",
      room_id: ROOM,
      sender: ALICE,
      origin_server_ts: T0,
      state_key: "",
      content: { history_visibility: "joined" },
    });
    expect(await ask(h, BOB, `!rtc history ${ROOM}`)).toContain(
      `About ${ROOM}:\nNo call history here: this room shows members only what happened while they were in it`,
    );
  });
});

describe("aliases", () => {
  test("an alias no room has is refused with the reason", async () => {
    const h = await twoRooms();
    expect(await ask(h, BOB, "!rtc status #nowhere:example.org")).toBe(
      "No room has the alias #nowhere:example.org.",
    );
  });

  test("a directory that cannot be reached: the asker is told to retry or use the id", async () => {
    const h = await twoRooms();
    h.matrix.fail("resolveAlias", new MatrixRequestError("unreachable", 0, null));
    expect(await ask(h, BOB, `!rtc status ${ALIAS}`)).toBe(
      `The service could not look up ${ALIAS} in the room directory; try again, or use the room id.`,
    );
    expect(h.logger.find("could not resolve a room alias", "warn")).toHaveLength(1);
  });

  test("a directory answer that is no room id is not used", async () => {
    const h = await twoRooms();
    h.matrix.aliases.set(ALIAS, "@bob:example.org");
    expect(await ask(h, BOB, `!rtc status ${ALIAS}`)).toBe(
      `The room directory gave no usable room for ${ALIAS}.`,
    );
  });

  test("look-ups have their own per-room bucket: a flood of aliases does not reach the directory", async () => {
    const h = await twoRooms();
    for (let i = 0; i < 15; i++) await ask(h, EVE, `!rtc status #r${i}:example.org`);
    expect(h.matrix.calls.filter((c) => c.method === "resolveAlias")).toHaveLength(10);
    expect(await ask(h, BOB, `!rtc status ${ROOM}`)).toContain(`About ${ROOM}:`);
  });
});
