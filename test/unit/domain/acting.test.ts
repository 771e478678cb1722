// Ending someone's call membership follows the room's own rules: kick rank, the event type's level, owned keys, sticky.
import { refusalToEnd, type ActTarget } from "../../../src/domain/rooms/acting";
import type { RoomRules } from "../../../src/domain/rooms/power";
import { ALICE, BOB, CALL_MEMBER, RTC_MEMBER, roomCreate, sessionKey } from "./builders";

const MOD = "@mod:example.org";
const ADMIN = "@admin:example.org";

/** A room created by Alice (a creator in v12) with Mod at 50, Admin at 100, Bob at 0. */
function rules(
  extra: Record<string, unknown> = {},
  version = "12",
  users: Record<string, unknown> = {},
): RoomRules {
  return {
    powerLevels: { users: { [MOD]: 50, [ADMIN]: 100, ...users }, ...extra },
    createEvent: roomCreate(version),
    roomVersion: version,
  };
}

const device = (userId: string, o: Partial<ActTarget> = {}): ActTarget => ({
  userId,
  deviceId: "DEV",
  type: CALL_MEMBER,
  stateKey: sessionKey(userId, "DEV"),
  ...o,
});

const ELEMENT_CALL = { events: { [CALL_MEMBER]: 0 } };

describe("rank, as m.room.kick", () => {
  test("a moderator may end a lower user's membership", () => {
    expect(refusalToEnd(MOD, device(BOB), rules(ELEMENT_CALL))).toBeNull();
  });

  test("not a higher user's: level 50 against 100", () => {
    expect(refusalToEnd(MOD, device(ADMIN), rules(ELEMENT_CALL))).toBe(
      `${ADMIN} has power level 100, not below your 50`,
    );
  });

  test("not an equal's", () => {
    expect(refusalToEnd(MOD, device(BOB), rules(ELEMENT_CALL, "12", { [BOB]: 50 }))).toBe(
      `${BOB} has power level 50, not below your 50`,
    );
  });

  test("not a room v12 creator's, whatever the level; a creator may end anyone else's", () => {
    expect(refusalToEnd(ADMIN, device(ALICE), rules(ELEMENT_CALL))).toBe(
      `${ALICE} is a creator of this room, whom nobody outranks`,
    );
    expect(refusalToEnd(ALICE, device(ADMIN), rules(ELEMENT_CALL))).toBeNull();
  });

  test("only from the room's kick level", () => {
    expect(refusalToEnd(MOD, device(BOB), rules({ ...ELEMENT_CALL, kick: 75 }))).toBe(
      "removing someone from the call needs power level 75 (as kicking does); you have 50",
    );
  });

  test("one's own membership needs no rank", () => {
    expect(refusalToEnd(BOB, device(BOB), rules({ ...ELEMENT_CALL, kick: 75 }))).toBeNull();
  });

  test("string levels count in a room version 9", () => {
    const r = rules({ ...ELEMENT_CALL, kick: "5" }, "9", { [MOD]: "50", [BOB]: "10" });
    expect(refusalToEnd(MOD, device(BOB), r)).toBeNull();
    expect(refusalToEnd(BOB, device(MOD), r)).toBe(`${MOD} has power level 50, not below your 10`);
  });
});

describe("writing the key, as the sender themselves", () => {
  test("the membership's event type may need more than the sender has", () => {
    expect(refusalToEnd(MOD, device(BOB), rules({ events: { [CALL_MEMBER]: 100 } }))).toBe(
      `writing ${CALL_MEMBER} needs power level 100; you have 50`,
    );
    expect(refusalToEnd(MOD, device(BOB), rules({ state_default: 60 }))).toBe(
      `writing ${CALL_MEMBER} needs power level 60; you have 50`,
    );
  });

  test("even one's own key, when one's level is now below the type's", () => {
    expect(refusalToEnd(BOB, device(BOB), rules())).toBe(
      `writing ${CALL_MEMBER} needs power level 50; you have 0`,
    );
  });

  test("an @user key outside MSC3757 room versions: only its owner", () => {
    const owned = device(BOB, { stateKey: BOB });
    expect(refusalToEnd(MOD, owned, rules(ELEMENT_CALL))).toBe(
      `the state key ${BOB} can only be written by ${BOB} in this room version`,
    );
    expect(refusalToEnd(BOB, owned, rules(ELEMENT_CALL))).toBeNull();
  });

  test("an owned key in an MSC3757 room: its owner, or a higher level than the owner's", () => {
    const v = "org.matrix.msc3757.11";
    const owned = device(BOB, { stateKey: sessionKey(BOB, "DEV", true, true) });
    expect(refusalToEnd(MOD, owned, rules(ELEMENT_CALL, v))).toBeNull();
    const othersKey = device(BOB, { stateKey: sessionKey(ADMIN, "DEV", true, true) });
    expect(refusalToEnd(MOD, othersKey, rules(ELEMENT_CALL, v))).toBe(
      `the state key ${sessionKey(ADMIN, "DEV", true, true)} belongs to ${ADMIN}, whose power level is not below yours`,
    );
    expect(
      refusalToEnd(MOD, device(MOD, { stateKey: sessionKey(MOD, "X", true, true) }), rules(ELEMENT_CALL, v)),
    ).toBeNull();
  });
});

describe("sticky memberships (timeline events only their sender can replace)", () => {
  const sticky = (userId: string): ActTarget => ({
    userId,
    deviceId: "DEV",
    type: RTC_MEMBER,
    stateKey: null,
  });

  test("another user's: with the redact level", () => {
    expect(refusalToEnd(MOD, sticky(BOB), rules())).toBeNull();
    expect(refusalToEnd(MOD, sticky(BOB), rules({ redact: 60 }))).toBe(
      "another user's sticky membership can only be removed as a redaction, which needs power level 60; you have 50",
    );
  });

  test("one's own: always", () => {
    expect(refusalToEnd(BOB, sticky(BOB), rules({ redact: 60 }))).toBeNull();
  });
});
