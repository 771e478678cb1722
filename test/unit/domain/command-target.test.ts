// The room a command names (id or alias, hostile words refused) and the permission rules judged in that room.
import { type AskerFacts, permissionFor } from "../../../src/domain/commands/permission";
import { parseRoomRef, splitTarget } from "../../../src/domain/commands/target";

describe("parseRoomRef", () => {
  test.each([
    [
      "!yBKF_Tio-x9Q2wVh3bnV7eE0aA1bB2cC3dD4eE5fF6g",
      { kind: "id", roomId: "!yBKF_Tio-x9Q2wVh3bnV7eE0aA1bB2cC3dD4eE5fF6g" },
    ],
    ["!abc:example.org", { kind: "id", roomId: "!abc:example.org" }],
    ["!abc:[::1]:8448", { kind: "id", roomId: "!abc:[::1]:8448" }],
    ["#standup:example.org", { kind: "alias", alias: "#standup:example.org" }],
    ["#café:example.org", { kind: "alias", alias: "#café:example.org" }],
  ])("%s is read", (word, ref) => {
    expect(parseRoomRef(word)).toEqual(ref);
  });

  test.each([
    "!",
    "#",
    "#no-server",
    "#:example.org",
    "!abc:exa mple.org",
    "!abc:<b>",
    "#a:b\u202Ec",
    "!a\u0000b",
    `!${"a".repeat(255)}`,
    `#${"é".repeat(126)}:a.b`,
    "@bob:example.org",
  ])("%j is no room", (word) => {
    expect(parseRoomRef(word)).toBeNull();
  });
});

describe("splitTarget", () => {
  test("no room: the arguments stay as they were", () => {
    expect(splitTarget(["3"])).toEqual({ ok: true, value: { target: null, rest: ["3"] } });
  });

  test("the room is taken out wherever it stands", () => {
    expect(splitTarget(["--dry-run", "#a:b.c"])).toEqual({
      ok: true,
      value: { target: { kind: "alias", alias: "#a:b.c" }, rest: ["--dry-run"] },
    });
  });

  test("two rooms, or a word that starts like a room and is none, are refused", () => {
    expect(splitTarget(["!a:b", "!c:d"])).toEqual({ ok: false, error: "names more than one room" });
    expect(splitTarget(["#nope"])).toMatchObject({ ok: false });
  });
});

describe("permissionFor", () => {
  const base: AskerFacts = {
    permission: "anyone",
    isAdmin: false,
    here: false,
    botJoined: true,
    membership: "join",
    level: 0,
    moderatorLevel: 50,
  };
  const cases: [string, Partial<AskerFacts>, ReturnType<typeof permissionFor>][] = [
    ["anyone here", { here: true, membership: null, level: null }, null],
    ["anyone, joined to the target", {}, null],
    ["anyone, invited to the target", { membership: "invite" }, { kind: "not-joined", membership: "invite" }],
    ["anyone, left the target", { membership: "leave" }, { kind: "not-joined", membership: "leave" }],
    ["anyone, never in the target", { membership: null }, { kind: "not-joined", membership: null }],
    ["the bot is not in the target", { botJoined: false }, { kind: "bot-not-joined" }],
    ["an admin, the bot not in the target", { isAdmin: true, botJoined: false }, { kind: "bot-not-joined" }],
    ["an admin not joined to the target", { isAdmin: true, membership: null, level: null }, null],
    [
      "moderator command, level 0 in the target",
      { permission: "moderator" },
      { kind: "needs-level", level: 50 },
    ],
    ["moderator command, level 50 in the target", { permission: "moderator", level: 50 }, null],
    ["moderator command, a creator of the target", { permission: "moderator", level: "creator" }, null],
    [
      "moderator command, level 100 but not joined to the target",
      { permission: "moderator", level: 100, membership: "leave" },
      { kind: "not-joined", membership: "leave" },
    ],
    [
      "moderator command here, the bot not joined",
      { permission: "moderator", here: true, botJoined: false, level: null },
      { kind: "needs-level", level: 50 },
    ],
    ["moderator command by an admin", { permission: "moderator", isAdmin: true, level: null }, null],
    [
      "admin command by a moderator",
      { permission: "admin", here: true, level: 100 },
      { kind: "needs-admin" },
    ],
    ["admin command by an admin", { permission: "admin", here: true, isAdmin: true }, null],
  ];
  test.each(cases)("%s", (_name, facts, expected) => {
    expect(permissionFor({ ...base, ...facts })).toEqual(expected);
  });
});
