// Clearer: which method ends a ghost (delayed leave, write as the user, write as the bot) and why none can.
import type { CannotClearReason } from "../../../src/domain/clearing/plan";
import { MatrixRequestError } from "../../../src/app/ports/matrix";
import {
  ALICE,
  CALL_MEMBER,
  type ClientEvent,
  legacyArrayEvent,
  msc3401Event,
  ROOM,
  roomMember,
  RTC_MEMBER,
  rtcLatestEvent,
  sessionJoin,
  sessionKey,
  stickyJoin,
  T0,
} from "../domain/builders";
import { CAROL, Harness, type HarnessOptions } from "./harness";

const KEY = sessionKey(ALICE, "DEVA");

/** Alice's device DEVA joined with a 1 s expiry; the clock is 61 s later, so it is an expired ghost. */
function expiredAlice(o: HarnessOptions = {}): Harness {
  const h = new Harness(o);
  h.feed(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA", expires: 1_000 }));
  h.clock.advance(61_000);
  return h;
}

const delayedLeave = (delayId: string, roomId = ROOM) => ({
  delayId,
  roomId,
  type: CALL_MEMBER,
  stateKey: KEY,
  delayMs: 8_000,
  content: {},
});

describe("Clearer methods", () => {
  test("fires the user's own matching delayed leave first, and nothing else", async () => {
    const h = expiredAlice();
    h.matrix.addDelayed(ALICE, delayedLeave("other-room", "!elsewhere:example.org"));
    h.matrix.addDelayed(ALICE, delayedLeave("d1"));
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out).toMatchObject({ result: "cleared", method: "delayed_leave" });
    expect(h.matrix.writes()).toEqual([
      { method: "delayedEventAction", delayId: "d1", action: "send", userId: ALICE },
    ]);
    expect(h.matrix.pendingDelayed(ALICE).map((d) => d.delayId)).toEqual(["other-room"]);
  });

  test("leaves a pending delayed event on the key that is not a leave alone, and writes the leave instead", async () => {
    const h = expiredAlice();
    const rejoin = sessionJoin({ user: ALICE, device: "DEVA" }).content;
    h.matrix.addDelayed(ALICE, { ...delayedLeave("rejoin"), content: rejoin });
    h.matrix.addDelayed(ALICE, { ...delayedLeave("other-key"), stateKey: sessionKey(ALICE, "DEVB") });
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out).toMatchObject({ result: "cleared", method: "write_as_user" });
    expect(out.detail).not.toContain("cancelled");
    expect(h.matrix.writes().map((w) => w.method)).toEqual(["putState"]);
    expect(h.matrix.pendingDelayed(ALICE).map((d) => d.delayId)).toEqual(["rejoin", "other-key"]);
  });

  test("fires only the sticky leave of the member's own sticky key and slot", async () => {
    const h = new Harness();
    h.feed(...h.room({ users: [ALICE] }), stickyJoin({ user: ALICE, device: "DEVA", durationMs: 1_000 }));
    h.clock.advance(61_000);
    const key = `${ALICE}:DEVA`;
    const sticky = (delayId: string, content: Record<string, unknown>) => ({
      delayId,
      roomId: ROOM,
      type: RTC_MEMBER,
      stateKey: null,
      delayMs: 8_000,
      content,
    });
    h.matrix.addDelayed(ALICE, sticky("join", stickyJoin({ user: ALICE, device: "DEVA" }).content));
    h.matrix.addDelayed(ALICE, sticky("other-slot", { slot_id: "m.call#other", msc4354_sticky_key: key }));
    h.matrix.addDelayed(ALICE, sticky("other-key", { slot_id: "m.call#ROOM", msc4354_sticky_key: "x" }));
    h.matrix.addDelayed(ALICE, sticky("leave", { slot_id: "m.call#ROOM", msc4354_sticky_key: key }));
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out).toMatchObject({ result: "cleared", method: "delayed_leave" });
    expect(h.matrix.writes()).toEqual([
      { method: "delayedEventAction", delayId: "leave", action: "send", userId: ALICE },
    ]);
    expect(h.matrix.pendingDelayed(ALICE).map((d) => d.delayId)).toEqual(["join", "other-slot", "other-key"]);
  });

  test("fires a latest-MSC4143 delayed leave (member.membership: leave), never its delayed join", async () => {
    const h = new Harness();
    const join = rtcLatestEvent({ user: ALICE, device: "DEVA", membership: "join", durationMs: 1_000 });
    h.feed(...h.room({ users: [ALICE] }), join);
    h.clock.advance(61_000);
    const leave = rtcLatestEvent({ user: ALICE, device: "DEVA", membership: "leave" }).content;
    const delayed = (delayId: string, content: Record<string, unknown>) => ({
      delayId,
      roomId: ROOM,
      type: "m.rtc.member",
      stateKey: null,
      delayMs: 8_000,
      content,
    });
    h.matrix.addDelayed(ALICE, delayed("join", join.content));
    h.matrix.addDelayed(ALICE, delayed("leave", leave));
    const out = await h.clearer.clear(h.judged(ALICE, ""));
    expect(out).toMatchObject({ result: "cleared", method: "delayed_leave" });
    expect(h.matrix.pendingDelayed(ALICE).map((d) => d.delayId)).toEqual(["join"]);
  });

  test("an emptying delayed leave of a shared @user key is fired only when no other device is in the key", async () => {
    const shared = (entries: { deviceId: string; expiresTs: number }[]) => {
      const h = new Harness();
      h.feed(...h.room({ users: [ALICE] }), legacyArrayEvent({ user: ALICE, entries }));
      h.clock.advance(61_000);
      h.matrix.addDelayed(ALICE, { ...delayedLeave("empty"), stateKey: ALICE, content: { memberships: [] } });
      return h;
    };
    const alone = shared([{ deviceId: "DEVA", expiresTs: T0 + 1_000 }]);
    expect(await alone.clearer.clear(alone.judged(ALICE, "DEVA"))).toMatchObject({ method: "delayed_leave" });

    const withLiveDevice = shared([
      { deviceId: "DEVA", expiresTs: T0 + 1_000 },
      { deviceId: "DEVB", expiresTs: T0 + 14_400_000 },
    ]);
    const out = await withLiveDevice.clearer.clear(withLiveDevice.judged(ALICE, "DEVA"));
    expect(out).toMatchObject({ result: "cleared", method: "write_as_user" });
    expect(withLiveDevice.matrix.writes().map((w) => w.method)).toEqual(["putState"]);
    expect(withLiveDevice.matrix.pendingDelayed(ALICE).map((d) => d.delayId)).toEqual(["empty"]);
  });

  test("writes {} as the user to a per-device key when no delayed leave is pending", async () => {
    const h = expiredAlice();
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out).toMatchObject({ result: "cleared", method: "write_as_user" });
    expect(out.detail).toBe(`wrote {} to the key as ${ALICE}`);
    expect(h.matrix.writes()).toEqual([
      {
        method: "putState",
        roomId: ROOM,
        type: CALL_MEMBER,
        stateKey: KEY,
        content: {},
        as: { kind: "user", userId: ALICE },
      },
    ]);
    expect(h.matrix.calls.map((c) => c.method).filter((m) => m !== "stateEvent")).toEqual([
      "delayedEvents",
      "putState",
      "delayedEvents",
    ]);
  });

  test("rewrites a shared @user key without the ghost device, keeping the live one", async () => {
    const h = new Harness();
    h.feed(
      ...h.room({ users: [ALICE] }),
      legacyArrayEvent({
        user: ALICE,
        entries: [
          { deviceId: "DEVA", expiresTs: T0 + 1_000 },
          { deviceId: "DEVB", expiresTs: T0 + 14_400_000 },
        ],
      }),
    );
    h.clock.advance(61_000);
    expect(h.judged(ALICE, "DEVB").verdict.kind).not.toBe("ghost");
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out).toMatchObject({ result: "cleared", method: "write_as_user" });
    expect(out.detail).toContain("rewrote the key without this device (others kept)");
    const [write] = h.matrix.writes();
    expect(write).toMatchObject({ method: "putState", stateKey: ALICE, as: { kind: "user", userId: ALICE } });
    const content =
      write?.method === "putState" ? (write.content as { memberships: { device_id: string }[] }) : null;
    expect(content?.memberships.map((m) => m.device_id)).toEqual(["DEVB"]);
  });

  test("rewrites an MSC3401 key empty when its only device is the ghost", async () => {
    const h = new Harness();
    h.feed(
      ...h.room({ users: [ALICE] }),
      msc3401Event({
        user: ALICE,
        type: CALL_MEMBER,
        calls: [{ callId: "c1", devices: [{ deviceId: "DEVA", expiresTs: T0 + 1_000 }] }],
      }),
    );
    h.clock.advance(61_000);
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out.detail).toContain("rewrote the key empty");
    expect(h.matrix.writes()).toMatchObject([
      { method: "putState", stateKey: ALICE, content: { "m.calls": [] } },
    ]);
  });

  test("cancels the user's stale delayed leave after writing as the user", async () => {
    const h = expiredAlice({ actions: { fireDelayedLeave: false } });
    h.matrix.addDelayed(ALICE, delayedLeave("d1"));
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out).toMatchObject({ result: "cleared", method: "write_as_user" });
    expect(out.detail).toContain("cancelled 1 stale delayed leave(s)");
    expect(
      h.matrix
        .writes()
        .map((w) => (w.method === "delayedEventAction" ? `${w.action}:${w.delayId}` : w.method)),
    ).toEqual(["putState", "cancel:d1"]);
    expect(h.matrix.pendingDelayed(ALICE)).toEqual([]);
  });

  test("a failing delayed leave falls through to writing as the user", async () => {
    const h = expiredAlice();
    h.matrix.addDelayed(ALICE, delayedLeave("d1"));
    h.matrix.fail("delayedEventAction", new MatrixRequestError("boom", 500, "M_UNKNOWN"));
    const out = await h.clearer.clear(h.judged(ALICE, "DEVA"));
    expect(out).toMatchObject({ result: "cleared", method: "write_as_user" });
    expect(h.metrics.of("clearFailed")).toEqual([["delayed_leave", "M_UNKNOWN"]]);
    const [row] = h.audit("clear");
    expect(row?.evidence?.tried).toEqual(["delayed_leave: boom"]);
  });

  test("writes as the bot over a remote user's _@ key when its power level allows", async () => {
    const h = new Harness();
    h.feed(
      ...h.room({ users: [ALICE, CAROL] }),
      sessionJoin({ user: CAROL, device: "DEVC", expires: 1_000 }),
    );
    h.clock.advance(61_000);
    const out = await h.clearer.clear(h.judged(CAROL, "DEVC"));
    expect(out).toMatchObject({ result: "cleared", method: "write_as_bot" });
    expect(out.detail).toContain(`as the bot (power level) over ${CAROL}'s key`);
    expect(h.matrix.writes()).toEqual([
      {
        method: "putState",
        roomId: ROOM,
        type: CALL_MEMBER,
        stateKey: sessionKey(CAROL, "DEVC"),
        content: {},
        as: { kind: "bot" },
      },
    ]);
    expect(h.matrix.calls.some((c) => c.method === "delayedEvents")).toBe(false);
  });
});

interface CannotCase {
  readonly name: string;
  readonly reason: CannotClearReason;
  readonly options?: HarnessOptions;
  readonly botLevel?: number | null;
  readonly event: () => ClientEvent;
}

const CANNOT: readonly CannotCase[] = [
  {
    name: "a remote user's own @user key",
    reason: "remote_owned_key",
    event: () => legacyArrayEvent({ user: CAROL, entries: [{ deviceId: "DEVC" }] }),
  },
  {
    name: "a remote user's sticky membership",
    reason: "remote_sticky",
    event: () => stickyJoin({ user: CAROL, device: "DEVC" }),
  },
  {
    name: "a bot below the key's level",
    reason: "bot_power_too_low",
    botLevel: 10,
    event: () => sessionJoin({ user: CAROL, device: "DEVC" }),
  },
  {
    name: "a bot not in the room",
    reason: "bot_not_in_room",
    botLevel: null,
    event: () => sessionJoin({ user: CAROL, device: "DEVC" }),
  },
  {
    name: "every method disabled",
    reason: "all_methods_disabled",
    options: { actions: { fireDelayedLeave: false, writeAsUser: false, writeAsBot: false } },
    event: () => sessionJoin({ user: CAROL, device: "DEVC" }),
  },
];

describe("Clearer cannot_clear", () => {
  test.each(CANNOT)("$name: cannot_clear $reason, audited and counted, nothing written", async (c) => {
    const h = new Harness(c.options);
    h.feed(...h.room({ users: [CAROL], botLevel: c.botLevel }), c.event(), roomMember(CAROL, "leave"));
    const j = h.judged(CAROL, "DEVC");
    expect(j.verdict).toMatchObject({ kind: "ghost", reason: "not_joined" });
    const out = await h.clearer.clear(j);
    expect(out).toEqual({ result: "cannot_clear", method: null, detail: c.reason });
    expect(h.matrix.writes()).toEqual([]);
    expect(h.metrics.of("cannotClear")).toEqual([[c.reason]]);
    const rows = h.audit("cannot_clear");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      reason: "not_joined",
      userId: CAROL,
      deviceId: "DEVC",
      result: "cannot_clear",
      actor: "reconciler",
    });
    expect(rows[0]?.evidence?.detail).toBe(c.reason);
    expect(h.logger.find("clear: cannot_clear", "warn")).toHaveLength(1);
  });
});
