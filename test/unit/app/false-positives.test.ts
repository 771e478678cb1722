// FalsePositives: a member back within 30 s of our clear is recorded, counted, and backs SFU-based clearing off.
import { deviceKeyOf } from "../../../src/app/reconcile/false-positives";
import { ALICE, ROOM, sessionJoin, T0 } from "../domain/builders";
import { Harness } from "./harness";

/** Alice's connected DEVA leaves the SFU and is cleared 6 s later; the clear's echo has arrived. */
async function clearedAlice(h: Harness): Promise<number> {
  await h.deliver(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
  await h.connect(ALICE, "DEVA", "PA_1");
  await h.advance(61_000);
  await h.poll();
  await h.webhook("participant_left", ALICE, "DEVA", "PA_1");
  await h.advance(6_000);
  expect(h.audit("clear")).toHaveLength(1);
  const clearedAt = h.clock.now();
  await h.echo();
  return clearedAt;
}

describe("FalsePositives through the reconciler", () => {
  test("a membership re-sent within 30 s is a false positive, and backs the device's SFU verdicts off", async () => {
    const h = new Harness({ backoffBaseMs: 120_000 });
    const clearedAt = await clearedAlice(h);
    await h.advance(20_000);
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", ts: h.clock.now() }));
    const [row] = h.audit("false_positive");
    expect(row).toMatchObject({
      roomId: ROOM,
      userId: ALICE,
      deviceId: "DEVA",
      reason: "left_sfu",
      result: "membership re-sent",
    });
    expect(row?.evidence).toMatchObject({
      back_after_ms: h.clock.now() - clearedAt,
      backoff_ms: 120_000,
      false_positives: 1,
    });
    expect(h.metrics.of("falsePositive")).toEqual([["left_sfu"]]);
    expect(h.store.backoff(deviceKeyOf(ROOM, ALICE, "DEVA"))).toEqual({
      deviceKey: deviceKeyOf(ROOM, ALICE, "DEVA"),
      falsePositives: 1,
      until: h.clock.now() + 120_000,
    });
    expect(h.logger.find("false positive", "warn")).toHaveLength(1);
    // The re-sent member never connects: past the 60 s connect grace it would be a ghost, but it is backed off.
    await h.advance(61_000);
    await h.poll();
    expect(h.label(ALICE, "DEVA")).toBe("unknown:sfu_unavailable");
    expect(h.audit("clear")).toHaveLength(1);
    await h.advance(60_000);
    await h.poll();
    expect(h.label(ALICE, "DEVA")).toBe("ghost:never_connected");
    expect(h.audit("clear")).toHaveLength(2);
  });

  test("the participant back on the SFU within 30 s is a false positive", async () => {
    const h = new Harness();
    await clearedAlice(h);
    await h.advance(5_000);
    await h.webhook("participant_joined", ALICE, "DEVA", "PA_2");
    expect(h.audit("false_positive")).toMatchObject([
      { result: "participant back on the SFU", reason: "left_sfu" },
    ]);
    expect(h.metrics.of("falsePositive")).toEqual([["left_sfu"]]);
  });

  test("after the 30 s window a re-join is not a false positive", async () => {
    const h = new Harness();
    await clearedAlice(h);
    await h.advance(30_001);
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", ts: h.clock.now() }));
    await h.webhook("participant_joined", ALICE, "DEVA", "PA_2");
    expect(h.audit("false_positive")).toEqual([]);
    expect(h.metrics.of("falsePositive")).toEqual([]);
    expect(h.store.backoff(deviceKeyOf(ROOM, ALICE, "DEVA"))).toBeNull();
  });
});

describe("Reconnects after a timeout clear", () => {
  test("a member cleared after LiveKit timed it out that comes straight back is a reconnect: no back-off", async () => {
    const h = new Harness({ backoffBaseMs: 120_000 });
    await h.deliver(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    await h.connect(ALICE, "DEVA", "PA_1");
    await h.advance(61_000);
    await h.poll();
    await h.webhook("participant_left", ALICE, "DEVA", "PA_1", "CONNECTION_TIMEOUT");
    expect(h.audit("clear")).toHaveLength(1);
    await h.echo();
    await h.advance(5_000);
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", ts: h.clock.now() }));
    expect(h.audit("false_positive")).toEqual([]);
    expect(h.audit("reconnect")).toMatchObject([
      { userId: ALICE, deviceId: "DEVA", result: "membership re-sent" },
    ]);
    expect(h.metrics.of("falsePositive")).toEqual([]);
    expect(h.metrics.of("reconnectAfterClear")).toEqual([["left_sfu"]]);
    expect(h.falsePositives.backedOff(h.member(ALICE, "DEVA"), h.clock.now())).toBe(false);
  });
});

describe("FalsePositives backoff", () => {
  test("doubles with each false positive up to the cap, and holds only until its end", () => {
    const h = new Harness({ backoffBaseMs: 10_000, backoffMaxMs: 60_000 });
    h.feed(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    const member = h.member(ALICE, "DEVA");
    const fp = h.falsePositives;
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      fp.noteClear(member, {
        at: h.clock.now(),
        identities: ["id"],
        reason: "left_sfu",
        unreachable: false,
      });
      h.clock.advance(1_000);
      fp.onMembershipJoined(member);
      const row = h.store.backoff(deviceKeyOf(ROOM, ALICE, "DEVA"));
      waits.push((row?.until ?? 0) - h.clock.now());
      expect(row?.falsePositives).toBe(i + 1);
    }
    expect(waits).toEqual([10_000, 20_000, 40_000, 60_000, 60_000]);
    expect(fp.backedOff(member, h.clock.now() + 59_999)).toBe(true);
    expect(fp.backedOff(member, h.clock.now() + 60_000)).toBe(false);
    expect(fp.watched).toBe(0);
  });

  test("a clear exactly 30 s old still counts; older ones are forgotten", () => {
    const h = new Harness({ start: T0 });
    h.feed(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    const fp = h.falsePositives;
    fp.noteClear(
      { roomId: ROOM, userId: ALICE, deviceId: "DEVA", key: "k" },
      { at: T0, identities: ["id-a"], reason: "left_sfu", unreachable: false },
    );
    fp.noteClear(
      { roomId: ROOM, userId: ALICE, deviceId: "OLD", key: "k2" },
      { at: T0 - 1, identities: ["id-b"], reason: "never_connected", unreachable: false },
    );
    expect(fp.watched).toBe(2);
    h.clock.advance(30_000);
    fp.onParticipantJoined("id-a");
    expect(h.metrics.of("falsePositive")).toEqual([["left_sfu"]]);
    expect(fp.watched).toBe(0);
  });
});
