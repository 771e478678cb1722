// Another member's claims about being the oldest (MSC4143 oldest_membership) must never get a live member cleared,
// kicked from another room's call, or removed as an orphan — including memberships clients read and we cannot.
import { hashedTuple } from "../../../src/domain/sfu/hash";
import {
  ALICE,
  BOB,
  JWT_URL,
  livekitFocus,
  nextEventId,
  ROOM,
  sessionJoin,
  stickyJoin,
  T0,
  type ClientEvent,
} from "../domain/builders";
import { BOT, CAROL, DEPLOYMENT, Harness, identityOf, LK_ROOM, powerLevels } from "./harness";

const EVIL_SFU = [livekitFocus("https://evil.example.net/jwt")];

/** Alice (the oldest) and Bob in a call on our SFU, both connected and followed past the connect grace. */
async function liveCall(h: Harness, users: readonly string[] = [ALICE, BOB, CAROL]): Promise<void> {
  await h.deliver(
    ...h.room({ users }),
    sessionJoin({ user: ALICE, device: "DEVA", ts: T0 - 1_000 }),
    sessionJoin({ user: BOB, device: "DEVB", ts: T0 }),
  );
  await h.connect(ALICE, "DEVA", "PA_1");
  await h.connect(BOB, "DEVB", "PB_1");
  await h.advance(61_000);
  await h.poll();
}

/** Both live clients follow a new "oldest" member to its SFU: they leave ours cleanly. */
async function bothMoveAway(h: Harness): Promise<void> {
  await h.webhook("participant_left", ALICE, "DEVA", "PA_1", "CLIENT_INITIATED");
  await h.webhook("participant_left", BOB, "DEVB", "PB_1", "CLIENT_INITIATED");
  await h.advance(6_000);
  h.reconciler.sweep();
  await h.settle();
}

/** Carol claims exactly Alice's creation instant (visible in Alice's event) and names another SFU. */
const carolTiesAlice = (): ClientEvent =>
  sessionJoin({ user: CAROL, device: "DEVC", ts: T0, createdTs: T0 - 1_000, foci: EVIL_SFU });

/** A membership js-sdk takes as the oldest but our parser refuses. */
function unreadableToUs(variant: "negative-created" | "bad-key" | "numeric-membershipID"): ClientEvent {
  const base = sessionJoin({ user: CAROL, device: "DEVC", ts: T0, foci: EVIL_SFU, createdTs: 1 });
  const content: Record<string, unknown> = { ...base.content, expires: 10 * 365 * 86_400_000 * 100 };
  if (variant === "negative-created") content.created_ts = -1_000_000_000_000;
  if (variant === "numeric-membershipID") content.membershipID = 7;
  return { ...base, content, state_key: variant === "bad-key" ? "anything" : (base.state_key ?? "") };
}

describe.each(["negative-created", "bad-key", "numeric-membershipID"] as const)(
  "a membership clients read and we cannot (%s)",
  (variant) => {
    test("makes the call's SFU unknowable: members that leave ours are not cleared", async () => {
      const h = new Harness();
      await liveCall(h);
      await h.deliver(unreadableToUs(variant));
      expect(
        h.state
          .room(ROOM)
          ?.allSlotMembers()
          .map((m) => m.userId),
      ).not.toContain(CAROL);
      await bothMoveAway(h);
      expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_contested");
      expect(h.label(BOB, "DEVB")).toBe("unknown:sfu_contested");
      expect(h.matrix.writes()).toEqual([]);
    });
  },
);

test("a readable membership that replaces the unreadable one ends the doubt", async () => {
  const h = new Harness();
  await liveCall(h);
  await h.deliver(unreadableToUs("negative-created"));
  await h.deliver(sessionJoin({ user: CAROL, device: "DEVC", ts: T0 + 1_000 }));
  await bothMoveAway(h);
  expect(h.label(ALICE, "DEVA")).toBe("ghost:left_sfu");
});

test("a sticky member naming our SFU in transports.published and another in rtc_transports contests the call", async () => {
  const h = new Harness();
  await liveCall(h);
  const carol = stickyJoin({ user: CAROL, device: "DEVC", ts: T0 - 60_000 });
  carol.content.rtc_transports = EVIL_SFU;
  await h.deliver(carol);
  await bothMoveAway(h);
  expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_contested");
  expect(h.matrix.writes()).toEqual([]);
});

test("a member tying the oldest member's created_ts with another SFU contests the oldest member too", async () => {
  const h = new Harness();
  await liveCall(h);
  await h.deliver(carolTiesAlice());
  await bothMoveAway(h);
  expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_contested");
  expect(h.matrix.writes()).toEqual([]);
});

test("in a contested call a timeout still clears: a crash is no move to another SFU", async () => {
  const h = new Harness();
  await liveCall(h);
  await h.deliver(carolTiesAlice());
  await h.webhook("participant_left", BOB, "DEVB", "PB_1", "CONNECTION_TIMEOUT");
  expect(h.label(BOB, "DEVB")).toBe("ghost:left_sfu");
  expect(JSON.stringify(h.matrix.writes())).toContain("DEVB");
});

test("a device reconnecting after a timeout (JOINING under a new sid) is not cleared", async () => {
  const h = new Harness();
  await h.deliver(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
  await h.connect(ALICE, "DEVA", "PA_1");
  await h.advance(61_000);
  await h.poll();
  const identity = identityOf(ALICE, "DEVA");
  h.livekit.disconnect(DEPLOYMENT, LK_ROOM, identity);
  h.livekit.connect(DEPLOYMENT, LK_ROOM, identity, "PA_2", "joining");
  h.reconciler.onWebhook({
    id: "left-PA_1",
    deployment: DEPLOYMENT,
    event: "participant_left",
    room: LK_ROOM,
    identity,
    sid: "PA_1",
    disconnectReason: "CONNECTION_TIMEOUT",
    receivedAt: h.clock.now(),
  });
  await h.settle();
  expect(h.matrix.writes()).toEqual([]);
  expect(h.audit("clear_skipped")).toHaveLength(1);
});

test("a kick in one room never removes the user from another room's LiveKit call named by an 'oldest' alias", async () => {
  const MOD = "@mod:example.org";
  const otherLkRoom = hashedTuple(["!private:example.org", "m.call#ROOM"]);
  const h = new Harness();
  h.feed(
    ...h.room({ users: [ALICE, BOB, MOD] }),
    powerLevels({ [BOT]: 50, [MOD]: 50 }),
    sessionJoin({ user: BOB, device: "DEVB" }),
    sessionJoin({
      user: MOD,
      device: "DEVM",
      createdTs: T0 - 3_600_000,
      foci: [livekitFocus(JWT_URL, otherLkRoom)],
    }),
  );
  h.livekit.connect(DEPLOYMENT, otherLkRoom, identityOf(BOB, "DEVB"), "PB2");
  h.clock.advance(61_000);
  await h.sfu.pollAll();
  h.bot.onMessage({
    event_id: nextEventId(),
    type: "m.room.message",
    room_id: ROOM,
    sender: MOD,
    content: { msgtype: "m.text", body: `!rtc kick ${BOB}` },
  });
  await h.settle();
  const removes = h.livekit.calls.filter((c) => c.method === "removeParticipant");
  expect(removes.length).toBeGreaterThan(0);
  expect(removes.map((c) => c.room)).not.toContain(otherLkRoom);
  expect(h.livekit.participants(DEPLOYMENT, otherLkRoom)).toHaveLength(1);
});

test("members we cannot place on one of our SFUs are never removed as orphans", async () => {
  const remote = "@carol:evil.example";
  const h = new Harness({ removeOrphans: true });
  await h.deliver(
    ...h.room({ users: [ALICE, BOB, remote], botLevel: 0 }),
    sessionJoin({ user: ALICE, device: "DEVA", ts: T0 - 1_000 }),
    sessionJoin({ user: BOB, device: "DEVB", ts: T0 }),
  );
  await h.connect(ALICE, "DEVA", "PA_1");
  await h.connect(BOB, "DEVB", "PB_1");
  await h.advance(61_000);
  await h.poll();
  // An "oldest" membership that clients ignore (expired) names a foreign SFU: we cannot place Alice and Bob.
  await h.deliver(
    sessionJoin({
      user: remote,
      device: "DEVC",
      ts: h.clock.now(),
      createdTs: 1,
      expires: 1,
      foci: [livekitFocus("https://elsewhere.example.net/jwt")],
    }),
  );
  for (let i = 0; i < 3; i++) {
    await h.advance(61_000);
    await h.poll();
  }
  expect(h.audit("participant_removed")).toEqual([]);
  expect(h.livekit.participants(DEPLOYMENT, LK_ROOM)).toHaveLength(2);
});
