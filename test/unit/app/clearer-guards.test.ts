// Clearer: decision-time checks (LiveKit API, slot, homeserver), dry run, failures, audit, metrics, leave reasons.
import { MatrixRequestError } from "../../../src/app/ports/matrix";
import { ALICE, CALL_MEMBER, ROOM, sessionJoin, sessionKey, sessionLeave, T0 } from "../domain/builders";
import type { MatrixCall } from "./fakes/matrix";
import { DEPLOYMENT, Harness, type HarnessOptions, identityOf, LK_ROOM } from "./harness";

function expiredAlice(o: HarnessOptions = {}): Harness {
  const h = new Harness(o);
  h.feed(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA", expires: 1_000 }));
  h.clock.advance(61_000);
  return h;
}

/** Alice's DEVA was connected for 61 s, then left the SFU: now a left_sfu ghost. */
async function leftSfuAlice(): Promise<Harness> {
  const h = new Harness();
  await h.leftSfuAfterACall(ALICE, "DEVA");
  return h;
}

describe("Clearer decision-time checks", () => {
  test("an SFU-based ghost is cleared when the API confirms absence; the session says left_sfu", async () => {
    const h = await leftSfuAlice();
    const j = h.judged(ALICE, "DEVA");
    expect(j.verdict).toMatchObject({ kind: "ghost", reason: "left_sfu" });
    expect(await h.clearer.clear(j)).toMatchObject({ result: "cleared", method: "write_as_user" });
    h.feed(...h.matrix.takeOutbox());
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["left_sfu"]);
  });

  test.each([
    [
      "present",
      (h: Harness) => {
        h.livekit.connect(DEPLOYMENT, LK_ROOM, identityOf(ALICE, "DEVA"), "PA_2");
      },
    ],
    [
      "unavailable",
      (h: Harness) => {
        h.livekit.down.add(DEPLOYMENT);
      },
    ],
  ])("an SFU-based ghost is skipped when the API says %s at decision time", async (answer, arrange) => {
    const h = await leftSfuAlice();
    const j = h.judged(ALICE, "DEVA");
    arrange(h);
    const out = await h.clearer.clear(j);
    expect(out).toEqual({
      result: "skipped",
      method: null,
      detail: `LiveKit API says ${answer} at decision time`,
    });
    expect(h.matrix.writes()).toEqual([]);
    expect(h.audit("clear_skipped")).toHaveLength(1);
  });

  test("skipped when the slot changed since the verdict", async () => {
    const h = expiredAlice();
    const j = h.judged(ALICE, "DEVA");
    h.feed(sessionJoin({ user: ALICE, device: "DEVA", createdTs: T0, expires: 1_000, ts: T0 + 60_000 }));
    const out = await h.clearer.clear(j);
    expect(out).toMatchObject({ result: "skipped", detail: "membership changed since the verdict" });
    expect(h.matrix.writes()).toEqual([]);
  });

  test("skipped when the homeserver holds a newer event for the key", async () => {
    const h = expiredAlice();
    const j = h.judged(ALICE, "DEVA");
    h.matrix.hold(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + 60_000 }));
    const out = await h.clearer.clear(j);
    expect(out).toMatchObject({
      result: "skipped",
      detail: "the homeserver holds a newer event for this key",
    });
    expect(h.matrix.writes()).toEqual([]);
  });
});

describe("Clearer dry run", () => {
  test.each([
    ["the service-wide dry run", { dryRun: true }, undefined],
    ["a dry run asked by the caller", {}, true],
  ])("%s writes nothing and records would_clear", async (_name, options: HarnessOptions, dry) => {
    const h = expiredAlice(options);
    h.matrix.addDelayed(ALICE, {
      delayId: "d1",
      roomId: ROOM,
      type: CALL_MEMBER,
      stateKey: sessionKey(ALICE, "DEVA"),
      delayMs: 1,
      content: {},
    });
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"), { kind: "verdict" }, dry);
    expect(out).toEqual({
      result: "would_clear",
      method: "delayed_leave",
      detail: "dry run; plan: delayed_leave, write_as_user, write_as_bot",
    });
    expect(h.matrix.writes()).toEqual([]);
    expect(h.matrix.pendingDelayed(ALICE)).toHaveLength(1);
    expect(h.audit("would_clear")).toMatchObject([
      { method: "delayed_leave", result: "would_clear", reason: "expired" },
    ]);
    expect(h.logger.find("clear: would_clear")[0]?.fields).toMatchObject({ dry_run: true });
    expect(h.metrics.of("ghostCleared")).toEqual([]);
  });
});

describe("Clearer failures", () => {
  test("a total failure is recorded clear_failed, and a later real leave keeps its own reason", async () => {
    const h = expiredAlice({ actions: { writeAsBot: false } });
    h.matrix.fail("putState", new MatrixRequestError("forbidden", 403, "M_FORBIDDEN"));
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out).toEqual({
      result: "failed",
      method: null,
      detail: "delayed_leave: not applicable; write_as_user: forbidden",
    });
    expect(h.metrics.of("clearFailed")).toEqual([["write_as_user", "M_FORBIDDEN"]]);
    expect(h.audit("clear_failed")).toMatchObject([{ method: null, result: "failed", reason: "expired" }]);
    expect(h.logger.find("clear: failed", "warn")).toHaveLength(1);
    h.feed(sessionLeave({ user: ALICE, device: "DEVA", ts: T0 + 62_000 }));
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["left"]);
  });

  test("a failed masquerade falls through to the bot's write", async () => {
    const h = expiredAlice();
    h.matrix.fail(
      "putState",
      new MatrixRequestError("forbidden", 403, "M_FORBIDDEN"),
      1,
      (c) => c.method === "putState" && c.as.kind === "user",
    );
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out).toMatchObject({ result: "cleared", method: "write_as_bot" });
    expect(h.audit("clear")[0]?.evidence?.tried).toEqual([
      "delayed_leave: not applicable",
      "write_as_user: forbidden",
    ]);
  });

  test("a failed re-read of the key fails the clear without writing; the reconciler tries again later", async () => {
    const h = expiredAlice();
    const reread = (c: MatrixCall) => c.method === "stateEvent" && c.type === CALL_MEMBER;
    h.matrix.fail("stateEvent", new MatrixRequestError("bad gateway", 502, null), 1, reread);
    // The room came in through `feed`, behind the reconciler's back: only a full re-check finds it.
    await h.reconciler.recheckAll();
    await h.settle();
    expect(h.matrix.writes()).toEqual([]);
    expect(h.audit("clear_failed")).toMatchObject([
      {
        result: "failed",
        method: null,
        evidence: { detail: "could not re-read the key before clearing: bad gateway" },
      },
    ]);
    expect(h.logger.find("clear: failed", "warn")).toHaveLength(1);
    await h.advance(29_000);
    h.reconciler.sweep();
    await h.settle();
    expect(h.matrix.writes()).toEqual([]);
    await h.advance(2_000);
    h.reconciler.sweep();
    await h.settle();
    expect(h.audit("clear")).toMatchObject([{ result: "cleared", method: "write_as_user" }]);
  });

  test("an unreadable room fails the clear without writing", async () => {
    const h = expiredAlice();
    h.matrix.fail("stateEvent", new MatrixRequestError("down", 502, null));
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out.result).toBe("failed");
    expect(out.detail).toContain("cannot read the room");
    expect(h.matrix.writes()).toEqual([]);
  });
});

describe("Clearer records", () => {
  test("a cleared ghost: one audit row with its evidence, the ghost metric with its lifetime, the expired session", async () => {
    const h = expiredAlice();
    await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(h.audit("clear")).toMatchObject([
      {
        roomId: ROOM,
        userId: ALICE,
        deviceId: "DEVA",
        reason: "expired",
        method: "write_as_user",
        result: "cleared",
        actor: "reconciler",
      },
    ]);
    expect(h.audit("clear")[0]?.evidence).toMatchObject({
      format: "session",
      ghost_lifetime_s: 60,
      expiresAt: T0 + 1_000,
    });
    expect(h.metrics.of("ghostCleared")).toEqual([["expired", "write_as_user", 60]]);
    expect(h.falsePositives.watched).toBe(1);
    h.feed(...h.matrix.takeOutbox());
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["expired"]);
  });

  test("a moderator's clear of a live member is audited with its author, not counted as a ghost", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    const j = h.judged(ALICE, "DEVA");
    expect(j.verdict.kind).not.toBe("ghost");
    const out = await h.clearer.clear(j, { kind: "command", by: "@mod:example.org", command: "kick" });
    expect(out.result).toBe("cleared");
    expect(h.audit("clear")).toMatchObject([{ actor: "@mod:example.org", reason: "kick" }]);
    expect(h.metrics.of("ghostCleared")).toEqual([]);
    expect(h.falsePositives.watched).toBe(0);
    h.feed(...h.matrix.takeOutbox());
    expect(h.userSessions().map((s) => s.leaveReason)).toEqual(["cleared"]);
  });
});
