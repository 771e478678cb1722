// Verdicts: every branch, expiry policy, and the rule that an SFU view we cannot trust never makes an SFU ghost.
import fc from "fast-check";
import { effectiveExpiry, isExpired, timeToExpiry } from "../../../src/domain/membership/expiry";
import type { RtcMember } from "../../../src/domain/membership/model";
import { parseMembershipEvent } from "../../../src/domain/membership/parse/index";
import type { SfuPresence, SfuView } from "../../../src/domain/sfu/presence";
import {
  DEFAULT_VERDICT_POLICY,
  judgeMember,
  judgeMembers,
  type VerdictContext,
} from "../../../src/domain/verdict";
import { ALICE, ctxAt, rtcStateEvent, sessionJoin, T0, type ClientEvent } from "./builders";

function only(event: ClientEvent): RtcMember {
  const result = parseMembershipEvent(event, ctxAt());
  if (result.kind !== "slot" || result.members[0] === undefined) throw new Error(JSON.stringify(result));
  return result.members[0];
}

const member = only(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 })); // expires T0 + 4 h
const observed = (
  presence: SfuPresence,
  resumedAt: number | null = null,
  trackingSince = resumedAt ?? T0 - 1_000_000,
): SfuView => ({
  kind: "observed",
  presence,
  trackingSince,
  resumedAt,
});

function ctx(over: Partial<VerdictContext> = {}): VerdictContext {
  return {
    now: T0 + 120_000,
    userJoined: true,
    sfu: observed({ kind: "connected", since: T0 + 1000, sid: "PA", room: "r" }),
    firstSeenAt: T0,
    policy: DEFAULT_VERDICT_POLICY,
    ...over,
  };
}

describe("expiry", () => {
  test("own expiry first, else the policy's maximum age, else never", () => {
    const seed = only(rtcStateEvent({ user: ALICE, device: "D", ts: T0 }));
    expect(effectiveExpiry(member, { maxAgeWithoutExpiry: 1 })).toBe(T0 + 14_400_000);
    expect(effectiveExpiry(seed, { maxAgeWithoutExpiry: null })).toBeNull();
    expect(effectiveExpiry(seed, { maxAgeWithoutExpiry: 1000 })).toBe(T0 + 1000);
    expect(isExpired(seed, T0 + 999, { maxAgeWithoutExpiry: 1000 })).toBe(false);
    expect(isExpired(seed, T0 + 1000, { maxAgeWithoutExpiry: 1000 })).toBe(true);
    expect(isExpired(seed, T0 + 1e12, { maxAgeWithoutExpiry: null })).toBe(false);
    expect(timeToExpiry(member, T0, { maxAgeWithoutExpiry: null })).toBe(14_400_000);
  });
});

describe("judgeMember branches", () => {
  test("not joined to the room → ghost not_joined, before anything else", () => {
    expect(
      judgeMember(member, ctx({ userJoined: false, sfu: { kind: "unavailable", reason: "x" } })),
    ).toMatchObject({
      kind: "ghost",
      reason: "not_joined",
    });
  });

  test("expired → ghost expired when the SFU cannot be asked or shows it gone; unknown while it shows it connected", () => {
    const late = T0 + 14_400_000;
    expect(judgeMember(member, ctx({ now: late }))).toMatchObject({
      kind: "unknown",
      reason: "expired_but_connected",
      evidence: { expiresAt: late, presence: { kind: "connected" } },
    });
    expect(judgeMember(member, ctx({ now: late, sfu: { kind: "stale", lastOkAt: null } }))).toMatchObject({
      kind: "ghost",
      reason: "expired",
      evidence: { expiresAt: late },
    });
    const gone: SfuPresence = { kind: "gone", since: T0 + 1000, sid: "PA", room: "r", reason: null };
    expect(judgeMember(member, ctx({ now: late, sfu: observed(gone) })).reason).toBe("expired");
  });

  test("expiry is not judged while the server clock is unknown", () => {
    const late = T0 + 14_400_000;
    const sfu: SfuView = { kind: "none" };
    expect(judgeMember(member, ctx({ now: late, sfu, expiryJudgeable: false }))).toMatchObject({
      kind: "unknown",
      reason: "server_clock_unknown",
    });
    expect(judgeMember(member, ctx({ now: late, sfu })).reason).toBe("expired");
  });

  test("while the sender has an unread encrypted event, nothing but leaving the room decides; the verdict says when to look again", () => {
    const gone: SfuPresence = {
      kind: "gone",
      since: T0 + 1000,
      sid: "PA",
      room: "r",
      reason: "CONNECTION_TIMEOUT",
    };
    const now = T0 + 120_000;
    const until = now + 3_000_000;
    expect(judgeMember(member, ctx({ now, sfu: observed(gone), unreadUpdateUntil: until }))).toMatchObject({
      kind: "unknown",
      reason: "update_unread",
      recheckAt: until,
    });
    expect(judgeMember(member, ctx({ now, sfu: observed(gone), unreadUpdateUntil: now })).reason).toBe(
      "left_sfu",
    );
    expect(
      judgeMember(member, ctx({ now, userJoined: false, sfu: observed(gone), unreadUpdateUntil: until }))
        .reason,
    ).toBe("not_joined");
  });

  test("an SFU chosen by other members' claims: connected or timed out there counts, never seen or left proves nothing", () => {
    const never: SfuPresence = { kind: "never-seen" };
    const contested = (presence: SfuPresence): SfuView => ({
      kind: "observed",
      presence,
      trackingSince: T0 - 1_000_000,
      resumedAt: null,
      contested: true,
    });
    expect(judgeMember(member, ctx({ sfu: observed(never) })).reason).toBe("never_connected");
    expect(judgeMember(member, ctx({ sfu: contested(never) }))).toMatchObject({
      kind: "unknown",
      reason: "sfu_contested",
    });
    // A clean leave may be a client following a new "oldest" member elsewhere; a timeout is a crash.
    const hungUp: SfuPresence = {
      kind: "gone",
      since: T0 + 1000,
      sid: "PA",
      room: "r",
      reason: "CLIENT_INITIATED",
    };
    expect(judgeMember(member, ctx({ sfu: contested(hungUp) })).reason).toBe("sfu_contested");
    const timedOut: SfuPresence = { ...hungUp, reason: "CONNECTION_TIMEOUT" };
    expect(judgeMember(member, ctx({ sfu: contested(timedOut) })).reason).toBe("left_sfu");
    const connected: SfuPresence = { kind: "connected", since: T0 + 1000, sid: "PA", room: "r" };
    expect(judgeMember(member, ctx({ sfu: contested(connected) })).reason).toBe("connected");
  });

  test("unknown room membership counts as joined", () => {
    expect(judgeMember(member, ctx({ userJoined: "unknown" }))).toMatchObject({
      kind: "alive",
      reason: "connected",
    });
  });

  test("no SFU, SFU not ours, unavailable, stale", () => {
    expect(judgeMember(member, ctx({ sfu: { kind: "none" } }))).toMatchObject({
      kind: "alive",
      reason: "no-sfu-evidence",
    });
    expect(judgeMember(member, ctx({ sfu: { kind: "not-ours" } }))).toMatchObject({
      kind: "unknown",
      reason: "sfu_not_ours",
    });
    expect(judgeMember(member, ctx({ sfu: { kind: "unavailable", reason: "down" } }))).toMatchObject({
      kind: "unknown",
      reason: "sfu_unavailable",
    });
    expect(judgeMember(member, ctx({ sfu: { kind: "stale", lastOkAt: T0 } }))).toMatchObject({
      kind: "unknown",
      reason: "sfu_stale",
    });
  });

  test("connected → alive connected", () => {
    expect(judgeMember(member, ctx())).toMatchObject({
      kind: "alive",
      reason: "connected",
      evidence: { presence: { kind: "connected" } },
    });
  });

  test("gone: within the leave grace → alive (look again at its end), at or after it → ghost left_sfu", () => {
    const gone = observed({ kind: "gone", since: T0 + 100_000, sid: "PA", room: "r", reason: null });
    expect(judgeMember(member, ctx({ now: T0 + 104_999, sfu: gone }))).toMatchObject({
      kind: "alive",
      reason: "within-grace",
      evidence: { goneSince: T0 + 100_000, graceMs: 5000, leaveKind: "other" },
      recheckAt: T0 + 105_000,
      wentAt: null,
    });
    expect(judgeMember(member, ctx({ now: T0 + 105_000, sfu: gone }))).toMatchObject({
      kind: "ghost",
      reason: "left_sfu",
      recheckAt: null,
      wentAt: T0 + 100_000,
    });
  });

  test.each([
    ["CONNECTION_TIMEOUT", "unreachable", 0],
    ["CLIENT_INITIATED", "client_left", 2_000],
    ["DUPLICATE_IDENTITY", "other", 5_000],
    [null, "other", 5_000],
  ])("LiveKit's reason %s: the %s rule, a grace of %d ms", (reason, leaveKind, graceMs) => {
    const since = T0 + 100_000;
    const gone = observed({ kind: "gone", since, sid: "PA", room: "r", reason });
    const at = judgeMember(member, ctx({ now: since + graceMs, sfu: gone }));
    expect(at).toMatchObject({ kind: "ghost", reason: "left_sfu", evidence: { graceMs, leaveKind } });
    if (graceMs > 0) {
      expect(judgeMember(member, ctx({ now: since + graceMs - 1, sfu: gone }))).toMatchObject({
        kind: "alive",
        recheckAt: since + graceMs,
      });
    }
  });

  test("a membership that can only change by expiry is looked at again when it expires; a ghost is not", () => {
    expect(judgeMember(member, ctx()).recheckAt).toBe(T0 + 14_400_000);
    expect(judgeMember(member, ctx({ now: T0 + 14_400_000, sfu: { kind: "none" } }))).toMatchObject({
      reason: "expired",
      recheckAt: null,
      wentAt: T0 + 14_400_000,
    });
    const never: SfuView = observed({ kind: "never-seen" });
    expect(judgeMember(member, ctx({ now: T0 + 1_000, sfu: never })).recheckAt).toBe(T0 + 60_000);
  });

  test("gone soon after the SFU came back (restart or outage): the connect grace applies, not the leave grace", () => {
    const resumed = T0 + 90_000;
    const gone = observed(
      { kind: "gone", since: T0 + 100_000, sid: "PA", room: "r", reason: "ABSENT_FROM_SNAPSHOT" },
      resumed,
    );
    expect(judgeMember(member, ctx({ now: T0 + 110_000, sfu: gone }))).toMatchObject({
      kind: "alive",
      reason: "within-grace",
      evidence: { graceMs: 60_000 },
    });
    expect(judgeMember(member, ctx({ now: T0 + 160_000, sfu: gone }))).toMatchObject({
      kind: "ghost",
      reason: "left_sfu",
    });
  });

  test("gone while the SFU was down (SERVER_SHUTDOWN): the connect grace counts from the comeback", () => {
    const gone = observed(
      { kind: "gone", since: T0 + 80_000, sid: "PA", room: "r", reason: "SERVER_SHUTDOWN" },
      T0 + 200_000,
    );
    // The next look is when the grace counted from the comeback ends, not from when it went.
    expect(judgeMember(member, ctx({ now: T0 + 259_999, sfu: gone }))).toMatchObject({
      kind: "alive",
      reason: "within-grace",
      evidence: { goneSince: T0 + 80_000, graceFrom: T0 + 200_000, graceMs: 60_000 },
      recheckAt: T0 + 260_000,
    });
    expect(judgeMember(member, ctx({ now: T0 + 260_000, sfu: gone }))).toMatchObject({
      kind: "ghost",
      reason: "left_sfu",
    });
  });

  test("gone soon after the service started following the SFU: the leave rule, not the connect grace (a start is no SFU reset)", () => {
    const gone = observed(
      { kind: "gone", since: T0 + 100_000, sid: "PA", room: "r", reason: "CONNECTION_TIMEOUT" },
      null,
      T0 + 90_000,
    );
    expect(judgeMember(member, ctx({ now: T0 + 100_000, sfu: gone }))).toMatchObject({
      kind: "ghost",
      reason: "left_sfu",
      evidence: { graceMs: 0, leaveKind: "unreachable" },
    });
  });

  test("gone before this membership began is an earlier session: judged as never seen", () => {
    const old = observed({ kind: "gone", since: T0 - 50_000, sid: "PA_old", room: "r", reason: null });
    expect(judgeMember(member, ctx({ now: T0 + 30_000, sfu: old }))).toMatchObject({
      kind: "alive",
      reason: "awaiting-connect",
    });
    expect(judgeMember(member, ctx({ now: T0 + 60_000, sfu: old }))).toMatchObject({
      kind: "ghost",
      reason: "never_connected",
    });
  });

  test("never seen: the connect grace runs from max(first seen, tracking start, creation)", () => {
    const never: SfuPresence = { kind: "never-seen" };
    expect(judgeMember(member, ctx({ now: T0 + 59_999, sfu: observed(never) }))).toMatchObject({
      kind: "alive",
      reason: "awaiting-connect",
    });
    expect(judgeMember(member, ctx({ now: T0 + 60_000, sfu: observed(never) }))).toMatchObject({
      kind: "ghost",
      reason: "never_connected",
      evidence: { waitingSince: T0 },
    });
    expect(judgeMember(member, ctx({ now: T0 + 60_000, sfu: observed(never, T0 + 30_000) })).reason).toBe(
      "awaiting-connect",
    );
    expect(
      judgeMember(member, ctx({ now: T0 + 60_000, firstSeenAt: T0 + 1, sfu: observed(never) })).reason,
    ).toBe("awaiting-connect");
  });

  test("evidence is plain JSON", () => {
    const verdict = judgeMember(member, ctx({ sfu: observed({ kind: "never-seen" }) }));
    expect(JSON.parse(JSON.stringify(verdict.evidence))).toEqual(verdict.evidence);
  });

  test("judgeMembers judges each member with its own context", () => {
    const results = judgeMembers([member, member], (m) =>
      ctx({ userJoined: m.deviceId === "DEVA" ? false : true }),
    );
    expect(results.map((r) => r.verdict.reason)).toEqual(["not_joined", "not_joined"]);
  });
});

describe("verdict properties", () => {
  const untrusted: fc.Arbitrary<SfuView> = fc.oneof(
    fc.constant<SfuView>({ kind: "not-ours" }),
    fc.constant<SfuView>({ kind: "none" }),
    fc.string().map((reason): SfuView => ({ kind: "unavailable", reason })),
    fc.option(fc.integer(), { nil: null }).map((lastOkAt): SfuView => ({ kind: "stale", lastOkAt })),
  );

  test("a view that is none, not ours, unavailable or stale never yields an SFU-based ghost", () => {
    fc.assert(
      fc.property(
        untrusted,
        fc.integer({ min: 0, max: 4e12 }),
        fc.integer({ min: 0, max: 4e12 }),
        fc.constantFrom<boolean | "unknown">(true, "unknown"),
        (sfu, now, firstSeenAt, userJoined) => {
          const verdict = judgeMember(member, {
            now,
            sfu,
            firstSeenAt,
            userJoined,
            policy: DEFAULT_VERDICT_POLICY,
          });
          return !(
            verdict.kind === "ghost" &&
            (verdict.reason === "left_sfu" || verdict.reason === "never_connected")
          );
        },
      ),
    );
  });

  test("a connected member that is joined and unexpired is always alive", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: T0 + 14_399_999 }), fc.integer(), (now, since) => {
        const sfu = observed({ kind: "connected", since, sid: "s", room: "r" });
        return judgeMember(member, ctx({ now, sfu })).kind === "alive";
      }),
    );
  });
});
