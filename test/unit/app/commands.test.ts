// The command table through the bot: status, ghosts, history, clean (and --dry-run), end and kick by the room's rules.
import {
  ALICE,
  BOB,
  CALL_MEMBER,
  type ClientEvent,
  nextEventId,
  ROOM,
  roomMember,
  sessionJoin,
  sessionLeave,
  stickyJoin,
  T0,
} from "../domain/builders";
import { BOT, DEPLOYMENT, Harness, type HarnessOptions, identityOf, LK_ROOM, powerLevels } from "./harness";

const MOD = "@mod:example.org";
const BOSS = "@boss:example.org";
const ADMIN = "@admin:example.org";

/**
 * Alice (expired at +1 s) and Bob in a call, both connected on the SFU (Alice only while `aliceOnSfu`: an expired
 * member the SFU shows connected is no ghost); the clock at +61 s.
 */
async function callRoom(o: HarnessOptions = {}, aliceOnSfu = true): Promise<Harness> {
  const h = new Harness(o);
  h.feed(
    ...h.room({ users: [ALICE, BOB, MOD] }),
    powerLevels({ [BOT]: 50, [MOD]: 50 }),
    sessionJoin({ user: ALICE, device: "DEVA", expires: 1_000 }),
    sessionJoin({ user: BOB, device: "DEVB" }),
  );
  if (aliceOnSfu) h.livekit.connect(DEPLOYMENT, LK_ROOM, identityOf(ALICE, "DEVA"), "PA");
  h.livekit.connect(DEPLOYMENT, LK_ROOM, identityOf(BOB, "DEVB"), "PB");
  h.clock.advance(61_000);
  await h.sfu.pollAll();
  return h;
}

async function say(h: Harness, sender: string, body: string): Promise<string> {
  const before = h.matrix.notices.length;
  h.bot.onMessage({
    event_id: nextEventId(),
    type: "m.room.message",
    room_id: ROOM,
    sender,
    content: { msgtype: "m.text", body },
  });
  await h.settle();
  return h.matrix.notices
    .slice(before)
    .map((n) => n.text)
    .join("\n");
}

describe("read commands", () => {
  test("status shows each member with its SFU state, expiry and verdict", async () => {
    const h = await callRoom();
    const status = await say(h, BOB, "!rtc status");
    expect(status).toContain("Call m.call: 2 member(s)");
    expect(status).toMatch(
      /@alice:example\.org \(DEVA\) since 1m 1s ago .*expired 1m 0s ago · unknown \(expired_but_connected\)/,
    );
    expect(status).toMatch(
      /@bob:example\.org \(DEVB\).*SFU: connected · expires in 3h 58m · alive \(connected\)/,
    );
    expect(h.matrix.writes()).toEqual([]);
  });

  test("status shows what LiveKit says of a member even when expiry decided its verdict", async () => {
    const h = await callRoom();
    expect(await say(h, BOB, "!rtc status")).toMatch(/@alice:example\.org \(DEVA\).*SFU: connected/);
  });

  test("ghosts lists the room's ghosts with their reason", async () => {
    const h = await callRoom({}, false);
    const ghosts = await say(h, BOB, "!rtc ghosts");
    expect(ghosts).toContain("1 ghost membership(s)");
    expect(ghosts).toContain("@alice:example.org (DEVA) · expired · clearable");
    expect(h.matrix.writes()).toEqual([]);
  });

  test("history lists the call's participants and how they left", async () => {
    const h = await callRoom();
    h.feed(
      sessionLeave({ user: BOB, device: "DEVB", ts: T0 + 30_000 }),
      sessionLeave({ user: ALICE, device: "DEVA", ts: T0 + 40_000 }),
    );
    const history = await say(h, BOB, "!rtc history");
    expect(history).toContain("Last 1 call(s)");
    expect(history).toContain("answered");
    expect(history).toMatch(/@bob:example\.org \(DEVB\) 30s, left: left/);
  });
});

describe("reads do not write", () => {
  test("status and ghosts judge without audit rows, timers or clears, even when a verdict changed", async () => {
    const h = await callRoom({}, false);
    const verdicts = h.audit("verdict").length;
    const armed = h.scheduler.armed();
    h.clock.advance(4 * 3_600_000); // Bob has expired: a real judgement would change his verdict
    await say(h, BOB, "!rtc status");
    await say(h, BOB, "!rtc ghosts");
    expect(h.audit("verdict")).toHaveLength(verdicts);
    expect(h.scheduler.armed()).toEqual(armed);
    expect(h.matrix.writes()).toEqual([]);
  });

  test("ghosts says what the clearer would really do: the user methods off leave a local user to the bot", async () => {
    const h = await callRoom({ actions: { fireDelayedLeave: false, writeAsUser: false } }, false);
    const ghosts = await say(h, BOB, "!rtc ghosts");
    expect(ghosts).toContain("@alice:example.org (DEVA) · expired · clearable by a leave written by the bot");
  });

  test("ghosts says a remote user's sticky membership cannot be cleared, as the clearer would find", async () => {
    const h = await callRoom({}, false);
    h.feed(roomMember("@eve:remote.example", "join"));
    h.feed(stickyJoin({ user: "@eve:remote.example", device: "DEVE", ts: T0 - 7_200_000 }));
    h.feed(roomMember("@eve:remote.example", "leave"));
    const ghosts = await say(h, BOB, "!rtc ghosts");
    expect(ghosts).toContain("@eve:remote.example (DEVE) · not_joined · cannot clear (remote sticky)");
  });
});

describe("replies with hostile values", () => {
  test("a device id with a newline and a bidi override cannot forge a line of status", async () => {
    const h = await callRoom();
    h.feed(sessionJoin({ user: BOB, device: "EVIL\n• @admin:example.org (X) · alive\u202E" }));
    const status = await say(h, BOB, "!rtc status");
    expect(status).not.toMatch(/[\n]• @admin/);
    expect(status).not.toContain("\u202E");
    expect(status).toContain("EVIL\\n• @admin:example.org (X) · alive\\u202E");
  });

  test("a room with hundreds of ghosts gets one reply well under the event size limit", async () => {
    const h = await callRoom();
    for (let i = 0; i < 600; i++)
      h.feed(sessionJoin({ user: `@u${i}:example.org`, device: `D${"X".repeat(100)}${i}`, expires: 1_000 }));
    const ghosts = await say(h, BOB, "!rtc ghosts");
    expect(Buffer.byteLength(ghosts) + Buffer.byteLength(h.matrix.notices.at(-1)?.html ?? "")).toBeLessThan(
      40_000,
    );
    expect(ghosts).toMatch(/… \d+ more line\(s\) not shown$/);
  });
});

describe("clearing commands", () => {
  test("clean clears the room's ghosts only; --dry-run writes nothing", async () => {
    const h = await callRoom({}, false);
    const dry = await say(h, MOD, "!rtc clean --dry-run");
    expect(dry).toContain("Clean (dry run)");
    expect(dry).toContain("@alice:example.org (DEVA): would_clear");
    expect(h.matrix.writes()).toEqual([]);
    const real = await say(h, MOD, "!rtc clean");
    expect(real).toContain("@alice:example.org (DEVA): cleared — expired: wrote {} to the key");
    expect(real).not.toContain("DEVB");
    expect(h.matrix.writes()).toHaveLength(1);
  });

  test("end clears every membership and removes the participants from the SFU", async () => {
    const h = await callRoom();
    // Alice created the room: she outranks Bob, and her own membership needs no rank.
    const reply = await say(h, ALICE, "!rtc end");
    expect(reply).toContain("Removed 2 participant(s) from the SFU.");
    expect(h.livekit.participants(DEPLOYMENT, LK_ROOM)).toEqual([]);
    expect(h.audit("clear").map((r) => [r.userId, r.actor, r.reason])).toEqual([
      [ALICE, ALICE, "end"],
      [BOB, ALICE, "end"],
    ]);
    h.feed(...h.matrix.takeOutbox());
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["cleared", "cleared"]);
    expect(h.store.callSessions(ROOM, 1)[0]).toMatchObject({ kind: "answered", endReason: "cleared" });
  });

  test("kick removes only that user's memberships and participants", async () => {
    const h = await callRoom();
    const reply = await say(h, MOD, `!rtc kick ${BOB}`);
    expect(reply).toContain(`Kick ${BOB} from the call`);
    expect(reply).toContain("Removed 1 participant(s) from the SFU.");
    expect(h.livekit.participants(DEPLOYMENT, LK_ROOM).map((p) => p.sid)).toEqual(["PA"]);
    expect(h.matrix.writes()).toMatchObject([{ method: "putState", as: { kind: "user", userId: BOB } }]);
  });

  test("under the service-wide dry run, end writes nothing and removes no one", async () => {
    const h = await callRoom({ dryRun: true });
    const reply = await say(h, ALICE, "!rtc end");
    expect(reply).toContain("End call (dry run: nothing written)");
    expect(reply).toContain("Removed 0 participant(s) from the SFU.");
    expect(h.matrix.writes()).toEqual([]);
    expect(h.livekit.calls.filter((c) => c.method === "removeParticipant")).toEqual([]);
  });
});

describe("kick and end follow the room's own rules", () => {
  /**
   * Alice created the room (a v12 creator) and is not in the call; Boss (100) and Bob (0) are, both connected;
   * Mod has 50. As in Element Call rooms, anyone may send call memberships, unless `levels` says otherwise.
   */
  async function rulesRoom(
    levels: Record<string, unknown> = { events: { [CALL_MEMBER]: 0 } },
  ): Promise<Harness> {
    const h = new Harness();
    h.feed(
      ...h.room({ users: [ALICE, BOSS, BOB, MOD] }),
      powerLevels({ [BOT]: 50, [MOD]: 50, [BOSS]: 100 }, levels),
      sessionJoin({ user: BOSS, device: "DEVX" }),
      sessionJoin({ user: BOB, device: "DEVB" }),
    );
    h.livekit.connect(DEPLOYMENT, LK_ROOM, identityOf(BOSS, "DEVX"), "PX");
    h.livekit.connect(DEPLOYMENT, LK_ROOM, identityOf(BOB, "DEVB"), "PB");
    await h.sfu.pollAll();
    return h;
  }

  /** Nothing was written, no participant removed, nothing cleared. */
  function untouched(h: Harness): void {
    expect(h.matrix.writes()).toEqual([]);
    expect(h.livekit.calls.filter((c) => c.method === "removeParticipant")).toEqual([]);
    expect(
      h.livekit
        .participants(DEPLOYMENT, LK_ROOM)
        .map((p) => p.sid)
        .sort(),
    ).toEqual(["PB", "PX"]);
    expect(h.audit("clear")).toEqual([]);
  }

  test("a moderator (50) may not kick a user of level 100: refused with the reason, nothing touched", async () => {
    const h = await rulesRoom();
    const reply = await say(h, MOD, `!rtc kick ${BOSS}`);
    expect(reply).toBe(
      `Kick ${BOSS} from the call: refused, nothing was changed\n• ${BOSS} (DEVX): ${BOSS} has power level 100, not below your 50`,
    );
    untouched(h);
    expect(h.metrics.of("command")).toEqual([["kick", "refused"]]);
    expect(h.audit("command")).toMatchObject([{ actor: MOD, reason: "kick", result: "refused" }]);
  });

  test("end by someone who could not kick everyone in the call is refused, naming who and why", async () => {
    const h = await rulesRoom();
    const reply = await say(h, MOD, "!rtc end");
    expect(reply).toContain("End call: refused, nothing was changed");
    expect(reply).toContain(`${BOSS} (DEVX): ${BOSS} has power level 100, not below your 50`);
    expect(reply).not.toContain(BOB);
    untouched(h);
  });

  test("the same end by someone who outranks everyone in the call goes ahead", async () => {
    const h = await rulesRoom();
    const reply = await say(h, ALICE, "!rtc end");
    expect(reply).toContain("Removed 2 participant(s) from the SFU.");
    expect(h.matrix.writes()).toHaveLength(2);
  });

  test("a moderator may not write a membership type above their level, even of a lower user", async () => {
    const h = await rulesRoom({ events: { [CALL_MEMBER]: 100 } });
    const reply = await say(h, MOD, `!rtc kick ${BOB}`);
    expect(reply).toContain(`${BOB} (DEVB): writing ${CALL_MEMBER} needs power level 100; you have 50`);
    untouched(h);
  });

  test("a moderator may not overwrite a user's own @user key (only its owner may write it)", async () => {
    const h = await rulesRoom();
    const legacy: ClientEvent = {
      event_id: nextEventId(),
      type: "m.call.member",
      room_id: ROOM,
      sender: BOB,
      origin_server_ts: T0,
      state_key: BOB,
      content: {
        memberships: [
          {
            application: "m.call",
            call_id: "",
            device_id: "DEVL",
            expires_ts: T0 + 3_600_000,
            foci_active: [{ type: "livekit", livekit_service_url: "https://rtc.example.org/livekit/jwt" }],
          },
        ],
      },
    };
    h.feed(legacy);
    const reply = await say(h, MOD, `!rtc kick ${BOB}`);
    expect(reply).toContain(
      `${BOB} (DEVL): the state key ${BOB} can only be written by ${BOB} in this room version`,
    );
    untouched(h);
  });

  test("a service admin gets no power over others' calls in a room where they have none", async () => {
    const h = await rulesRoom();
    const reply = await say(h, ADMIN, `!rtc kick ${BOB}`);
    expect(reply).toContain(
      `${BOB} (DEVB): removing someone from the call needs power level 50 (as kicking does); you have 0`,
    );
    untouched(h);
  });
});
