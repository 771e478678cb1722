// Judge + Reconciler: grace deadlines on the fake clock, exactly-once clears, SFU doubt, server clock, audit, retries.
import {
  ALICE,
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
    await h.webhook("participant_left", ALICE, "DEVA", "PA_1");
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
    ["ahead of", 600_000],
    ["behind", -600_000],
  ])(
    "the homeserver's clock %s ours: a 60 s membership expires 60 s after we received it",
    async (_how, skew) => {
      const h = new Harness();
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
