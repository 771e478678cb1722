// Judge + Reconciler: grace deadlines on the fake clock, exactly-once clears, SFU doubt, server clock, audit, retries.
import {
  ALICE,
  BOB,
  CALL_MEMBER,
  livekitFocus,
  ROOM,
  roomMember,
  sessionJoin,
  sessionLeave,
  stickyJoin,
  T0,
} from "../domain/builders";
import { CAROL, Harness } from "./harness";

const OTHER_SFU = [livekitFocus("https://elsewhere.example.net/jwt")];

/** Alice's DEVA connected, and followed on the SFU for longer than the connect grace (so a leave gets the leave grace). */
async function connectedAlice(h: Harness): Promise<void> {
  await h.deliver(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
  await h.connect(ALICE, "DEVA", "PA_1");
  await h.advance(61_000);
  await h.poll();
  expect(h.label(ALICE, "DEVA")).toBe("alive:connected");
}

describe("Reconciler: SFU leave grace", () => {
  test("a member whose participant leaves is a ghost only after the grace, and is cleared exactly once", async () => {
    const h = new Harness();
    await connectedAlice(h);
    const leftAt = h.clock.now();
    await h.webhook("participant_left", ALICE, "DEVA", "PA_1", null);
    expect(h.label(ALICE, "DEVA")).toBe("alive:within-grace");
    expect(h.scheduler.armed()).toEqual([leftAt + 5_000 + 50]);
    await h.advance(4_900);
    expect(h.matrix.writes()).toEqual([]);
    await h.advance(200);
    expect(h.label(ALICE, "DEVA")).toBe("ghost:left_sfu");
    expect(h.matrix.writes()).toMatchObject([
      { method: "putState", content: {}, as: { kind: "user", userId: ALICE } },
    ]);
    h.reconciler.sweep();
    await h.settle();
    await h.advance(10_000);
    h.reconciler.sweep();
    await h.settle();
    await h.echo();
    h.reconciler.sweep();
    await h.settle();
    expect(h.matrix.writes()).toHaveLength(1);
    expect(h.audit("clear")).toHaveLength(1);
    expect(h.state.room(ROOM)?.allSlotMembers()).toEqual([]);
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["left_sfu"]);
  });

  test("a participant LiveKit timed out is cleared at once, after the API confirms it absent", async () => {
    const h = new Harness();
    await connectedAlice(h);
    await h.webhook("participant_left", ALICE, "DEVA", "PA_1", "CONNECTION_TIMEOUT");
    expect(h.label(ALICE, "DEVA")).toBe("ghost:left_sfu");
    expect(h.livekit.calls.filter((c) => c.method === "listParticipants").length).toBeGreaterThan(0);
    expect(h.matrix.writes()).toMatchObject([{ method: "putState", content: {} }]);
    expect(h.audit("clear")[0]?.evidence).toMatchObject({ leaveKind: "unreachable", graceMs: 0 });
    await h.echo();
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["connection_lost"]);
  });

  test("a participant that hung up gets the short client grace: its own Matrix leave within it means no write", async () => {
    const h = new Harness();
    await connectedAlice(h);
    await h.webhook("participant_left", ALICE, "DEVA", "PA_1", "CLIENT_INITIATED");
    expect(h.label(ALICE, "DEVA")).toBe("alive:within-grace");
    await h.advance(1_500);
    await h.deliver(sessionLeave({ user: ALICE, device: "DEVA", ts: h.clock.now() }));
    await h.advance(5_000);
    expect(h.matrix.writes()).toEqual([]);
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["left"]);
  });

  test("a sticky ghost is not cleared twice while its leave is on its way back", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE] }), stickyJoin({ user: ALICE, device: "DEVA" }));
    await h.connect(ALICE, "DEVA", "PA_1");
    await h.advance(61_000);
    await h.poll();
    await h.webhook("participant_left", ALICE, "DEVA", "PA_1");
    await h.advance(6_000);
    expect(h.matrix.writes()).toMatchObject([{ method: "sendEvent", stickyDurationMs: 3_600_000 }]);
    h.reconciler.sweep();
    await h.settle();
    expect(h.matrix.writes()).toHaveLength(1);
  });

  test("LiveKit rooms are followed for webhooks only while a member maps to them", async () => {
    const h = new Harness();
    await connectedAlice(h);
    expect(h.reconciler.followedLivekitRooms).toBeGreaterThan(0);
    await h.deliver(sessionLeave({ user: ALICE, device: "DEVA" }));
    expect(h.reconciler.followedLivekitRooms).toBe(0);
  });

  test("a member that never connects is a ghost after the connect grace", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    await h.poll();
    expect(h.label(ALICE, "DEVA")).toBe("alive:awaiting-connect");
    await h.advance(59_000);
    expect(h.matrix.writes()).toEqual([]);
    await h.advance(1_100);
    expect(h.label(ALICE, "DEVA")).toBe("ghost:never_connected");
    expect(h.matrix.writes()).toHaveLength(1);
  });
});

describe("Reconciler: doubtful SFU views", () => {
  test("an unavailable LiveKit API never yields an SFU-based ghost", async () => {
    const h = new Harness();
    await connectedAlice(h);
    h.livekit.down.add("main");
    await h.poll();
    await h.webhook("participant_left", ALICE, "DEVA", "PA_1");
    await h.advance(300_000);
    h.reconciler.sweep();
    await h.settle();
    expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_unavailable");
    expect(h.logger.find("verdict: ghost")).toEqual([]);
    expect(h.matrix.writes()).toEqual([]);
  });

  test("a stale view (no good poll for longer than staleAfterMs) never yields an SFU-based ghost", async () => {
    const h = new Harness({ staleAfterMs: 120_000 });
    await connectedAlice(h);
    await h.advance(200_000);
    await h.webhook("participant_left", ALICE, "DEVA", "PA_1");
    await h.advance(10_000);
    h.reconciler.sweep();
    await h.settle();
    expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_stale");
    expect(h.matrix.writes()).toEqual([]);
  });
});

describe("Reconciler: expiry on the homeserver's clock", () => {
  test.each([
    ["ahead of", 300_000],
    ["behind", -300_000],
  ])(
    "the homeserver's answers say its clock is %s ours: a 60 s membership expires 60 s after we received it",
    async (_how, skew) => {
      const h = new Harness();
      h.serverClock.observe(T0 + skew, T0);
      const ts = T0 + skew;
      await h.deliver(
        ...h.room({ users: [ALICE] }).map((e) => ({ ...e, origin_server_ts: ts })),
        sessionJoin({ user: ALICE, device: "DEVA", ts, expires: 60_000, foci: OTHER_SFU }),
      );
      expect(h.serverClock.offsetMs).toBe(-skew);
      expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_not_ours");
      expect(h.scheduler.armed()).toEqual([T0 + 60_000 + 50]);
      await h.advance(59_000);
      expect(h.matrix.writes()).toEqual([]);
      await h.advance(1_100);
      expect(h.label(ALICE, "DEVA")).toBe("ghost:expired");
      expect(h.matrix.writes()).toHaveLength(1);
    },
  );

  test("an event another sender stamped hours ahead moves no clock: a live member stays alive and uncleared", async () => {
    const h = new Harness();
    await h.deliver(
      ...h.room({ users: [ALICE, CAROL] }),
      sessionJoin({ user: ALICE, device: "DEVA", expires: 14_400_000, foci: OTHER_SFU }),
    );
    await h.deliver({
      ...sessionJoin({ user: CAROL, device: "DEVC" }),
      origin_server_ts: T0 + 5 * 3_600_000,
    });
    await h.deliver({
      type: "m.room.message",
      room_id: ROOM,
      sender: CAROL,
      event_id: "$future",
      origin_server_ts: T0 + 5 * 3_600_000,
      content: { msgtype: "m.text", body: "hello from the future" },
    });
    expect(h.serverClock.offsetMs).toBe(0);
    await h.advance(2_000);
    h.reconciler.sweep();
    await h.settle();
    expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_not_ours");
    expect(h.matrix.writes()).toEqual([]);
  });

  test("a homeserver clock further off than a real clock error: expiry waits, and the log says why", async () => {
    const h = new Harness();
    h.serverClock.observe(T0 - 5 * 3_600_000, T0);
    expect(h.serverClock.trusted).toBe(false);
    expect(h.logger.find("the homeserver's clock is too far from ours", "error")).toHaveLength(1);
    await h.deliver(
      ...h.room({ users: [ALICE] }),
      sessionJoin({ user: ALICE, device: "DEVA", ts: T0 - 5 * 3_600_000, expires: 60_000, foci: OTHER_SFU }),
    );
    expect(h.label(ALICE, "DEVA")).toBe("unknown:server_clock_unknown");
    expect(h.matrix.writes()).toEqual([]);
  });

  test("an expiry verdict against a member the SFU shows connected is not acted on, and says what was seen", async () => {
    const h = new Harness();
    await connectedAlice(h);
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", ts: h.clock.now(), expires: 1_000 }));
    await h.advance(2_000);
    h.reconciler.sweep();
    await h.settle();
    expect(h.label(ALICE, "DEVA")).toBe("unknown:expired_but_connected");
    expect(h.matrix.writes()).toEqual([]);
    const row = h.audit("verdict").at(-1);
    expect(row?.evidence).toMatchObject({ presence: { kind: "connected" } });
  });
});

describe("Reconciler: an SFU chosen by another member's claim", () => {
  test("a forged older membership naming our SFU does not make a member whose call runs elsewhere a ghost", async () => {
    const h = new Harness();
    await h.deliver(
      ...h.room({ users: [ALICE, BOB, CAROL] }),
      sessionJoin({ user: ALICE, device: "DEVA", ts: T0 - 1_000, foci: OTHER_SFU }),
      sessionJoin({ user: BOB, device: "DEVB", ts: T0 }),
    );
    expect(h.label(BOB, "DEVB")).toBe("unknown:sfu_not_ours");
    // Carol claims a membership created an hour ago, naming our SFU.
    await h.deliver(sessionJoin({ user: CAROL, device: "DEVC", ts: T0, createdTs: T0 - 3_600_000 }));
    await h.advance(61_000);
    await h.poll();
    h.reconciler.sweep();
    await h.settle();
    expect(h.label(BOB, "DEVB")).toBe("unknown:sfu_contested");
    expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_contested");
    const written = JSON.stringify(h.matrix.writes());
    expect(written).not.toContain("DEVA");
    expect(written).not.toContain("DEVB");
  });

  test("when the whole call names one SFU, who claims to be oldest does not matter and absence counts", async () => {
    const h = new Harness();
    await h.deliver(
      ...h.room({ users: [ALICE, BOB] }),
      sessionJoin({ user: ALICE, device: "DEVA", ts: T0 - 1_000 }),
      sessionJoin({ user: BOB, device: "DEVB", ts: T0 }),
    );
    await h.connect(ALICE, "DEVA", "PA_1");
    await h.advance(61_000);
    await h.poll();
    h.reconciler.sweep();
    await h.settle();
    expect(h.label(ALICE, "DEVA")).toBe("alive:connected");
    expect(h.label(BOB, "DEVB")).toBe("ghost:never_connected");
  });
});

describe("Reconciler: audit and retries", () => {
  test("a verdict is audited once per change, not once per sweep", async () => {
    const h = new Harness();
    await connectedAlice(h);
    const verdicts = () => h.audit("verdict").map((r) => `${r.result ?? ""}:${r.reason ?? ""}`);
    const before = verdicts();
    expect(before.at(-1)).toBe("alive:connected");
    for (let i = 0; i < 3; i++) {
      await h.advance(1_000);
      h.reconciler.sweep();
    }
    expect(verdicts()).toEqual(before);
    await h.webhook("participant_left", ALICE, "DEVA", "PA_1");
    await h.advance(6_000);
    h.reconciler.sweep();
    expect(verdicts()).toEqual([...before, "alive:within-grace", "ghost:left_sfu"]);
    expect(h.metrics.of("verdict").map(([k, r]) => `${k}:${r}`)).toEqual(verdicts());
  });

  test("after cannot_clear the ghost is tried again only once the retry window has passed", async () => {
    const h = new Harness();
    await h.deliver(
      ...h.room({ users: [ALICE, CAROL], botLevel: 10 }),
      sessionJoin({ user: CAROL, device: "DEVC", foci: OTHER_SFU }),
      roomMember(CAROL, "leave"),
    );
    const attempts = () => h.audit("cannot_clear").length;
    expect(attempts()).toBe(1);
    const first = attempts();
    await h.advance(29_000);
    h.reconciler.sweep();
    await h.settle();
    expect(attempts()).toBe(first);
    await h.advance(1_100);
    h.reconciler.sweep();
    await h.settle();
    expect(attempts()).toBe(first + 1);
    expect(h.audit("cannot_clear").map((r) => r.evidence?.detail)).toEqual([
      "bot_power_too_low",
      "bot_power_too_low",
    ]);
    expect(h.matrix.writes().filter((w) => w.method === "putState" && w.type === CALL_MEMBER)).toEqual([]);
  });

  test("a clear skipped at decision time is tried again after 5 s, not before", async () => {
    const h = new Harness();
    await connectedAlice(h);
    await h.webhook("participant_left", ALICE, "DEVA", "PA_1");
    h.livekit.down.add("main");
    await h.advance(6_000);
    const skipped = () => h.audit("clear_skipped").length;
    expect(skipped()).toBe(1);
    await h.advance(4_000);
    h.reconciler.sweep();
    await h.settle();
    expect(skipped()).toBe(1);
    await h.advance(1_100);
    h.reconciler.sweep();
    await h.settle();
    expect(skipped()).toBe(2);
    expect(h.matrix.writes()).toEqual([]);
  });
});
