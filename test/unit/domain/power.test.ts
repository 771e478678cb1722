// Power levels: integer strings count in room versions 1–9 (and only there), for users, defaults and required levels.
import {
  actionLevel,
  atLeast,
  outranks,
  powerLevelOf,
  requiredStateLevel,
} from "../../../src/domain/rooms/power";
import { ALICE, BOB, CALL_MEMBER, roomCreate } from "./builders";

const MOD = "@mod:example.org";
const create = roomCreate("9");

describe("power levels given as strings", () => {
  test.each(["1", "5", "9", null])('room version %s: a user\'s "50" is 50', (version) => {
    expect(powerLevelOf(MOD, { users: { [MOD]: "50" } }, create, version)).toBe(50);
  });

  test("room version 9: users_default, events, state_default, kick and redact may be strings too", () => {
    const pl = {
      users_default: " 10 ",
      events: { [CALL_MEMBER]: "0" },
      state_default: "75",
      kick: "+60",
      redact: "40",
    };
    expect(powerLevelOf(BOB, pl, create, "9")).toBe(10);
    expect(requiredStateLevel(CALL_MEMBER, pl, "9")).toBe(0);
    expect(requiredStateLevel("m.other", pl, "9")).toBe(75);
    expect(actionLevel("kick", pl, "9")).toBe(60);
    expect(actionLevel("redact", pl, "9")).toBe(40);
  });

  test.each(["10", "11", "12", "org.matrix.msc3757.11"])(
    "room version %s: strings are not levels (the defaults apply)",
    (version) => {
      const pl = { users: { [MOD]: "50" }, users_default: "10", state_default: "0", kick: "0" };
      expect(powerLevelOf(MOD, pl, create, version)).toBe(0);
      expect(requiredStateLevel(CALL_MEMBER, pl, version)).toBe(50);
      expect(actionLevel("kick", pl, version)).toBe(50);
    },
  );

  test.each(["fifty", "50.5", "1e2", "", "5 0", "99999999999999999999"])(
    "a string that is not an integer (%j) is no level",
    (value) => {
      expect(powerLevelOf(MOD, { users: { [MOD]: value }, users_default: 3 }, create, "9")).toBe(3);
    },
  );

  test("an integer level, or a listed user's invalid level, behaves as before", () => {
    expect(powerLevelOf(MOD, { users: { [MOD]: 50 } }, create, "12")).toBe(50);
    expect(powerLevelOf(MOD, { users: { [MOD]: 50.5 }, users_default: 1 }, create, "12")).toBe(1);
    expect(powerLevelOf(ALICE, { users: {} }, roomCreate("12"), "12")).toBe("creator");
  });
});

describe("ranks", () => {
  test("a creator outranks any number and is outranked by nobody", () => {
    expect(outranks("creator", 1_000_000)).toBe(true);
    expect(outranks(1_000_000, "creator")).toBe(false);
    expect(outranks("creator", "creator")).toBe(false);
    expect(atLeast("creator", 1_000_000)).toBe(true);
  });
});
