// Supporting structures of the domain: the small map, the SFU target, interning and context clamping.
import type { MembershipFormat, RtcMember } from "../../../src/domain/membership/model";
import { parseMembershipEvent } from "../../../src/domain/membership/parse/index";
import { hashedTuple } from "../../../src/domain/sfu/hash";
import { oldestMemberOf, sfuTargetFor } from "../../../src/domain/sfu/mapping";
import { SmallMap } from "../../../src/domain/small-map";
import { ALICE, BOB, ctxAt, livekitFocus, sessionJoin, stickyJoin, T0, type ClientEvent } from "./builders";

function only(event: ClientEvent, receivedAt = T0): RtcMember {
  const result = parseMembershipEvent(event, ctxAt(receivedAt));
  if (result.kind !== "slot" || result.members[0] === undefined) throw new Error(JSON.stringify(result));
  return result.members[0];
}

describe("SmallMap", () => {
  test("behaves like a Map below and above the small limit", () => {
    const map = new SmallMap<number>();
    const reference = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const key = `k${i % 23}`;
      if (i % 5 === 4) {
        expect(map.delete(key)).toBe(reference.delete(key));
      } else {
        map.set(key, i);
        reference.set(key, i);
      }
      expect(map.size).toBe(reference.size);
      for (const [k, v] of reference) expect(map.get(k)).toBe(v);
    }
    expect(new Set(map.entries().map(([k]) => k))).toEqual(new Set(reference.keys()));
    expect([...map.values()].sort()).toEqual([...reference.values()].sort());
    expect(map.has("k1")).toBe(reference.has("k1"));
    expect(map.get("absent")).toBeUndefined();
  });

  test("values() is a snapshot", () => {
    const map = new SmallMap<number>();
    map.set("a", 1);
    const values = map.values();
    map.set("a", 2);
    expect(values).toEqual([1]);
  });
});

describe("sfuTargetFor", () => {
  test("names the member id's identity, and adds an alias the chosen transport names", () => {
    const first = only(stickyJoin({ user: ALICE, device: "D", memberId: "m1" }));
    const second = only(
      stickyJoin({ user: ALICE, device: "D", memberId: "m1", published: [livekitFocus(undefined, "alias")] }),
    );
    expect(sfuTargetFor(first, [])?.identities).toContain(hashedTuple([ALICE, "D", "m1"]));
    expect(sfuTargetFor(second, [])?.rooms).toContain("alias");
  });

  test("asks for the room's members only when the focus selection needs them", () => {
    const multi = only(sessionJoin({ user: ALICE, device: "A", focusSelection: "multi_sfu" }));
    const oldest = only(
      sessionJoin({ user: BOB, device: "B", ts: T0 - 100, foci: [livekitFocus("https://old")] }),
    );
    let asked = 0;
    const members = {
      oldestInCall: (member: RtcMember, formats: ReadonlySet<MembershipFormat>): RtcMember => {
        asked++;
        return oldestMemberOf(member, [oldest], formats);
      },
      members: () => [oldest],
      hasUnreadMemberships: () => false,
    };
    expect(sfuTargetFor(multi, members)?.transport.livekitServiceUrl).toBe(
      livekitFocus().livekit_service_url,
    );
    expect(asked).toBe(0);
    const me = only(sessionJoin({ user: ALICE, device: "C", ts: T0 }));
    expect(sfuTargetFor(me, members)?.transport.livekitServiceUrl).toBe("https://old");
    expect(asked).toBe(1);
  });
});

describe("parsing details", () => {
  test("equal transports and foci are shared objects across events", () => {
    const a = only(sessionJoin({ user: ALICE, device: "A" }));
    const b = only(sessionJoin({ user: BOB, device: "B" }));
    expect(a.transports).toBe(b.transports);
    expect(a.focusActive).toBe(b.focusActive);
    expect(Object.isFrozen(a.transports[0])).toBe(true);
  });

  test("an unusable receive instant is clamped, never poisons expiry", () => {
    const event = stickyJoin({ user: ALICE, device: "D", durationMs: 1000 });
    expect(only(event, Number.NaN).expiresAt).toBe(1000);
    expect(only(event, Number.POSITIVE_INFINITY).expiresAt).toBe(T0 + 1000);
  });

  test("the member's source is the slot reference itself (one object per event)", () => {
    const result = parseMembershipEvent(sessionJoin({ user: ALICE, device: "A" }), ctxAt());
    expect(result.kind === "slot" && result.members[0]?.source).toBe(
      result.kind === "slot" ? result.slot : null,
    );
  });
});
