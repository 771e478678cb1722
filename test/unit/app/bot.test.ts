// Bot: permissions (anyone / moderator / admin, v12 creators, string levels), rate limits, lateness, visibility, replies.
import type { BotOptions } from "../../../src/app/commands/bot";
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
import { BOT, CAROL, Harness, powerLevels } from "./harness";

const MOD = "@mod:example.org";
const ADMIN = "@admin:example.org";
const BOSS = "@boss:remote.org";

function message(sender: string, body: string, roomId = ROOM): ClientEvent {
  return {
    event_id: nextEventId(),
    type: "m.room.message",
    room_id: roomId,
    sender,
    origin_server_ts: T0,
    content: { msgtype: "m.text", body },
  };
}

/** A v12 room created by Alice (a creator: unlimited power), Mod at level 50, Bob at 0. */
function botRoom(bot: Partial<BotOptions> = {}): Harness {
  const h = new Harness({ bot });
  h.feed(...h.room({ users: [ALICE, BOB, MOD] }), powerLevels({ [BOT]: 50, [MOD]: 50 }));
  return h;
}

async function say(h: Harness, sender: string, body: string, roomId = ROOM): Promise<string> {
  const before = h.matrix.notices.length;
  h.bot.onMessage({ ...message(sender, body, roomId) });
  await h.settle();
  return h.matrix.notices
    .slice(before)
    .map((n) => n.text)
    .join("\n---\n");
}

describe("Bot permissions", () => {
  test("anyone may ask for help and status", async () => {
    const h = botRoom();
    expect(await say(h, BOB, "!rtc help")).toContain("!rtc kick @user:server");
    expect(await say(h, BOB, "!rtc status")).toBe("No call in this room right now.");
    expect(h.metrics.of("command")).toEqual([
      ["help", "ok"],
      ["status", "ok"],
    ]);
  });

  test.each([
    [BOB, false],
    [MOD, true],
    [ALICE, true],
    [ADMIN, true],
  ])("moderator command from %s: permitted %s", async (sender, permitted) => {
    const h = botRoom();
    const reply = await say(h, sender, "!rtc clean");
    if (permitted) expect(reply).toContain("Clean");
    else expect(reply).toBe('"clean" needs power level 50 or more in this room.');
    expect(h.audit("command")).toMatchObject([
      { actor: sender, reason: "clean", result: permitted ? "ok" : "refused" },
    ]);
  });

  test('in a room version 9, a moderator\'s level given as the string "50" counts as 50', async () => {
    const h = new Harness();
    h.feed(
      roomCreate("9"),
      roomMember(BOT, "join"),
      roomMember(MOD, "join"),
      powerLevels({}, { users: { [MOD]: "50" } }),
    );
    expect(await say(h, MOD, "!rtc clean")).toContain("Clean");
  });

  test("admin command: refused to a moderator, answered to an admin", async () => {
    const h = botRoom();
    expect(await say(h, MOD, "!rtc stats")).toBe('"stats" needs an admin of this service.');
    expect(await say(h, ADMIN, "!rtc stats")).toContain("matrix-rtc-reconciler statistics");
    expect(h.metrics.of("command")).toEqual([
      ["stats", "refused"],
      ["stats", "ok"],
    ]);
  });
});

describe("Bot rate limit", () => {
  test("per room and per minute: one warning, then silence, then answers again", async () => {
    const h = botRoom({ ratePerMinute: 3 });
    const replies: string[] = [];
    for (let i = 0; i < 6; i++) replies.push(await say(h, BOB, "!rtc status"));
    expect(replies).toEqual([
      ...Array<string>(3).fill("No call in this room right now."),
      "Too many commands in this room; try again in a minute.",
      "",
      "",
    ]);
    expect(h.metrics.of("command").filter(([, o]) => o === "rate_limited")).toHaveLength(1);
    expect(await say(h, BOB, "!rtc help", "!other:example.org")).toContain("commands");
    await h.advance(60_000);
    expect(await say(h, BOB, "!rtc status")).toBe("No call in this room right now.");
  });
});

describe("Bot rate limit buckets", () => {
  test("refused commands do not spend the answers of those allowed to run them", async () => {
    const h = botRoom({ ratePerMinute: 3 });
    for (let i = 0; i < 6; i++) await say(h, BOB, "!rtc clean");
    expect(await say(h, MOD, "!rtc clean")).toContain("Clean");
  });

  test("commands anyone may run do not spend the moderators' answers", async () => {
    const h = botRoom({ ratePerMinute: 3 });
    for (let i = 0; i < 6; i++) await say(h, BOB, "!rtc status");
    expect(await say(h, MOD, "!rtc clean")).toContain("Clean");
  });

  test('unknown commands are limited too, and their metric label is "unknown", never the sender\'s word', async () => {
    const h = botRoom({ ratePerMinute: 3 });
    const replies: string[] = [];
    for (let i = 0; i < 6; i++) replies.push(await say(h, BOB, `!rtc word${i}`));
    expect(replies.slice(3)).toEqual(["Too many commands in this room; try again in a minute.", "", ""]);
    expect(new Set(h.metrics.of("command").map(([name]) => name))).toEqual(new Set(["unknown"]));
  });
});

describe("Bot lateness", () => {
  /** A command as the homeserver pushes it: `unsigned.age` is its own measure of how long it has held it. */
  function aged(sender: string, body: string, ageMs: number, originServerTs = T0): ClientEvent {
    return { ...message(sender, body), origin_server_ts: originServerTs, unsigned: { age: ageMs } };
  }

  async function send(h: Harness, event: ClientEvent, receivedAt?: number): Promise<string> {
    const before = h.matrix.notices.length;
    h.bot.onMessage({ ...event }, receivedAt ?? h.clock.now());
    await h.settle();
    return h.matrix.notices
      .slice(before)
      .map((n) => n.text)
      .join("\n---\n");
  }

  /** Alice (the creator) and Bob in a call; Bob's membership is what `end` would clear. */
  function callRoom(): Harness {
    const h = botRoom({ maxCommandAgeMs: 300_000 });
    h.feed(sessionJoin({ user: BOB, device: "DEVB" }));
    return h;
  }

  test("an end the homeserver held for longer than the limit is not run, and the sender is told why", async () => {
    const h = callRoom();
    const reply = await send(h, aged(ALICE, "!rtc end", 301_000));
    expect(reply).toBe(
      '"end" was not run: it reached the service 5m 1s after the homeserver received it (the limit is 5m 0s), and the calls may have changed since. Send it again if it is still wanted.',
    );
    expect(h.matrix.writes()).toEqual([]);
    expect(h.metrics.of("command")).toEqual([["end", "late"]]);
    expect(h.audit("command")).toMatchObject([{ actor: ALICE, reason: "end", result: "late" }]);
  });

  test("time spent in our own journal counts too (received, then processed after a restart)", async () => {
    const h = callRoom();
    const reply = await send(h, aged(ALICE, "!rtc kick @bob:example.org", 1_000), h.clock.now() - 300_000);
    expect(reply).toContain('"kick" was not run: it reached the service 5m 1s after');
    expect(h.matrix.writes()).toEqual([]);
  });

  test("through the intake: a command journaled and processed 6 minutes later is not run", async () => {
    const h = callRoom();
    h.intake.accept(aged(ALICE, "!rtc end", 0));
    h.clock.advance(360_000);
    h.intake.drain();
    await h.settle();
    expect(h.matrix.notices.map((n) => n.text).join("\n")).toContain(
      '"end" was not run: it reached the service 6m 0s',
    );
    expect(h.matrix.writes()).toEqual([]);
  });

  test("a fresh command runs, whatever old timestamp its sender claims", async () => {
    const h = callRoom();
    const reply = await send(h, aged(ALICE, "!rtc end", 2_000, T0 - 86_400_000));
    expect(reply).toContain("End call");
    expect(h.matrix.writes()).toHaveLength(1);
  });

  test("a malformed or negative age counts as none", async () => {
    for (const age of [-1e12, "999999999", Number.NaN]) {
      const h = callRoom();
      const event: ClientEvent = { ...message(ALICE, "!rtc end"), unsigned: { age } };
      expect(await send(h, event)).toContain("End call");
    }
  });

  test("a late read command is still answered, with a note that the answer shows the state now", async () => {
    const h = callRoom();
    const reply = await send(h, aged(BOB, "!rtc status", 600_000));
    expect(reply.split("\n")[0]).toBe(
      "(Answered late: this command reached the service 10m 0s after the homeserver received it; what follows is the state now.)",
    );
    expect(reply).toContain("Call m.call: 1 member(s)");
  });
});

describe("Bot listings respect what the asker may see", () => {
  function visibility(value: string): ClientEvent {
    return {
      event_id: nextEventId(),
      type: "m.room.history_visibility",
      room_id: ROOM,
      sender: ALICE,
      origin_server_ts: T0,
      state_key: "",
      content: { history_visibility: value },
    };
  }

  test.each(["shared", "world_readable"])("history visibility %s: past calls are listed", async (value) => {
    const h = botRoom();
    h.feed(visibility(value));
    expect(await say(h, BOB, "!rtc history")).toBe("No call recorded in this room yet.");
  });

  test.each(["joined", "invited"])("history visibility %s: no past calls, and the reason", async (value) => {
    const h = botRoom();
    h.feed(visibility(value));
    const reply = await say(h, BOB, "!rtc history");
    expect(reply).toBe(
      `No call history here: this room shows members only what happened while they were in it (history visibility "${value}"), and the service cannot tell exactly when you joined, so it does not list past calls here.`,
    );
    expect(h.metrics.of("command")).toEqual([["history", "refused"]]);
  });

  test("shared history is for members: someone who left since gets none", async () => {
    const h = botRoom();
    h.feed(roomMember(BOB, "leave"));
    expect(await say(h, BOB, "!rtc history")).toBe(
      "No call history here: only members of this room may see its past calls.",
    );
  });

  test("an admin's ghosts lists this room only; other rooms are counted, their ids and users not posted", async () => {
    const h = botRoom();
    const OTHER = "!other:example.org";
    h.feed(
      sessionJoin({ user: BOB, device: "HERE", expires: 1_000 }),
      { ...roomCreate("12"), room_id: OTHER },
      { ...roomMember(CAROL, "join"), room_id: OTHER },
      sessionJoin({ user: CAROL, device: "THERE", expires: 1_000, roomId: OTHER }),
    );
    h.clock.advance(60_000);
    const reply = await say(h, ADMIN, "!rtc ghosts");
    expect(reply).toContain(`${BOB} (HERE)`);
    expect(reply).toContain("Other rooms: 1 ghost membership(s) in 1 room(s).");
    expect(reply).not.toContain(OTHER);
    expect(reply).not.toContain(CAROL);
    expect(reply).not.toContain("THERE");
  });
});

describe("Bot replies", () => {
  test("an unknown command gets a pointer to help", async () => {
    const h = botRoom();
    expect(await say(h, BOB, "!rtc frobnicate now")).toBe('Unknown command "frobnicate". Try: !rtc help');
    expect(h.metrics.of("command")).toEqual([["unknown", "unknown"]]);
  });

  test.each([
    ["!rtc history abc", "history expects one number. Usage:\n!rtc history [room] [n]"],
    ["!rtc history 99", "history the number must be between 1 and 50. Usage:\n!rtc history [room] [n]"],
    ["!rtc status now", "status takes no arguments. Usage:\n!rtc status [room]"],
    ["!rtc clean --force", "clean the only option is --dry-run. Usage:\n!rtc clean [room] [--dry-run]"],
  ])("bad arguments get the usage: %s", async (body, expected) => {
    const h = botRoom();
    expect(await say(h, MOD, body)).toBe(expected);
    expect(h.metrics.of("command").at(-1)?.[1]).toBe("usage");
  });

  test("echoed input is escaped in the HTML reply", async () => {
    const h = botRoom();
    await say(h, BOB, "!rtc <img src=x onerror=alert(1)>");
    await say(h, MOD, "!rtc kick @<b>evil</b>:example.org");
    const [unknown, kick] = h.matrix.notices.map((n) => n.html);
    expect(unknown).toContain("&lt;img");
    expect(unknown).not.toContain("<img");
    expect(kick).toContain("@&lt;b&gt;evil&lt;/b&gt;:example.org");
    expect(kick).not.toContain("<b>evil");
  });

  test("ordinary chat, notices and the bot's own messages get no answer", async () => {
    const h = botRoom();
    expect(await say(h, BOB, "hello !rtc help")).toBe("");
    expect(await say(h, BOT, "!rtc help")).toBe("");
    h.bot.onMessage({ ...message(BOB, "!rtc help"), content: { msgtype: "m.notice", body: "!rtc help" } });
    await h.settle();
    expect(h.matrix.notices).toEqual([]);
  });
});

describe("Bot invites", () => {
  test.each<[BotOptions["acceptInvitesFrom"], string, "join" | "leave"]>([
    ["local", ALICE, "join"],
    ["local", CAROL, "leave"],
    ["local", BOSS, "join"],
    ["admins", ALICE, "leave"],
    ["admins", BOSS, "join"],
    ["anyone", CAROL, "join"],
  ])("accept_invites_from %s: an invite from %s is answered with %s", async (policy, sender, expected) => {
    const h = new Harness({ bot: { acceptInvitesFrom: policy, admins: [BOSS] } });
    h.bot.onInvite({ ...roomMember(BOT, "invite", { sender }), state_key: BOT });
    await h.settle();
    expect(h.matrix.calls.filter((c) => c.method === "join" || c.method === "leave")).toEqual([
      { method: expected, roomId: ROOM },
    ]);
    expect(h.matrix.calls.some((c) => c.method === "roomState")).toBe(expected === "join");
  });
});
