// Unit tests of the remembered oldest members: how remembered oldest members follow joins, updates and leaves of the effective call.
import { joined, left, updated, type MemberChange } from "../../../src/domain/membership/changes";
import type { MembershipFormat, RtcMember } from "../../../src/domain/membership/model";
import {
  findOldest,
  followOldest,
  rememberOldest,
  type OldestAnswer,
} from "../../../src/domain/membership/oldest-memo";
import { RoomCallState } from "../../../src/domain/membership/room-state";
import { ALICE, BOB, ctxAt, sessionJoin, T0 } from "./builders";

const MODERN = new Set<MembershipFormat>(["session", "rtc-state", "sticky", "rtc-latest"]);

/** The list of answers as a room holds it. */
class Memo {
  private head: OldestAnswer | null = null;

  remember(member: RtcMember, formats: ReadonlySet<MembershipFormat>, oldest: RtcMember | null): void {
    this.head = rememberOldest(this.head, member, formats, oldest);
  }

  follow(changes: readonly MemberChange[]): void {
    this.head = followOldest(this.head, changes);
  }

  find(member: RtcMember, formats: ReadonlySet<MembershipFormat>): RtcMember | null | undefined {
    return findOldest(this.head, member, formats);
  }
}

/** Alice's and Bob's session members of the room call, Alice created first. */
function members(): { alice: RtcMember; bob: RtcMember } {
  const state = new RoomCallState("!room:example.org", { roomVersion: "12" });
  state.apply(sessionJoin({ user: ALICE, device: "A", createdTs: T0 }), ctxAt());
  state.apply(sessionJoin({ user: BOB, device: "B", createdTs: T0 + 1_000 }), ctxAt());
  const [alice, bob] = [ALICE, BOB].map((user) => state.members().find((m) => m.userId === user));
  if (alice === undefined || bob === undefined) throw new Error("builders yielded no members");
  return { alice, bob };
}

describe("remembered oldest members", () => {
  test("a newcomer older than the remembered oldest takes its place; a younger one does not", () => {
    const { alice, bob } = members();
    const memo = new Memo();
    memo.remember(bob, MODERN, bob);
    memo.follow([joined(alice, T0, "event", null)]);
    expect(memo.find(bob, MODERN)).toBe(alice);
    const younger = { ...bob, key: `${bob.key}2`, createdTs: T0 + 5_000 };
    memo.follow([joined(younger, T0, "event", null)]);
    expect(memo.find(bob, MODERN)).toBe(alice);
  });

  test("between members created at the same instant, the smaller key is the older", () => {
    const { alice, bob } = members();
    expect(alice.key < bob.key).toBe(true);
    const memo = new Memo();
    memo.remember(bob, MODERN, bob);
    const twin = { ...alice, createdTs: bob.createdTs };
    memo.follow([joined(twin, T0, "event", null)]);
    expect(memo.find(bob, MODERN)).toBe(twin);
    memo.follow([joined({ ...bob, key: `${bob.key}2` }, T0, "event", null)]);
    expect(memo.find(bob, MODERN)).toBe(twin);
  });

  test("the oldest refreshed keeps its place with the new object; leaving or getting younger forgets the answer", () => {
    const { alice, bob } = members();
    const memo = new Memo();
    memo.remember(alice, MODERN, alice);
    const refreshed = { ...alice };
    memo.follow([updated(refreshed, alice, T0, "event", null)]);
    expect(memo.find(bob, MODERN)).toBe(refreshed);
    memo.follow([updated({ ...refreshed, createdTs: T0 + 2_000 }, refreshed, T0, "event", null)]);
    expect(memo.find(bob, MODERN)).toBeUndefined();
    memo.remember(alice, MODERN, alice);
    memo.follow([left(alice, T0, "left", "event", null)]);
    expect(memo.find(bob, MODERN)).toBeUndefined();
  });

  test("answers are per format set and call, and a call with nobody remembers null until someone joins", () => {
    const { alice, bob } = members();
    const memo = new Memo();
    const legacy = new Set<MembershipFormat>(["legacy-array"]);
    memo.remember(alice, legacy, null);
    expect(memo.find(alice, MODERN)).toBeUndefined();
    expect(memo.find({ ...alice, callId: "other" }, legacy)).toBeUndefined();
    memo.follow([joined(bob, T0, "event", null)]);
    expect(memo.find(alice, legacy)).toBeNull();
    const legacyBob = { ...bob, source: { ...bob.source, format: "legacy-array" as const } };
    memo.follow([joined(legacyBob, T0, "event", null)]);
    expect(memo.find(alice, legacy)).toBe(legacyBob);
  });

  test("at most four answers are kept, the least recently remembered dropped first", () => {
    const { alice } = members();
    const memo = new Memo();
    const calls = ["c1", "c2", "c3", "c4", "c5"].map((callId) => ({ ...alice, callId }));
    for (const call of calls) memo.remember(call, MODERN, call);
    expect(memo.find(calls[0] as RtcMember, MODERN)).toBeUndefined();
    for (const call of calls.slice(1)) expect(memo.find(call, MODERN)).toBe(call);
  });
});
