// Supporting structures of the domain: the small map, the SFU name cache, interning and context clamping.
import type { MembershipFormat, RtcMember } from "../../../src/domain/membership/model";
import { parseMembershipEvent } from "../../../src/domain/membership/parse/index";
import { hashedTuple } from "../../../src/domain/sfu/hash";
import {
  livekitRoomCandidates,
  oldestMemberOf,
  participantIdentities,
} from "../../../src/domain/sfu/mapping";
import { SfuNameCache } from "../../../src/domain/sfu/names";
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

describe("SfuNameCache", () => {
  test("gives the same names as the mapping functions and reuses them across refreshes", () => {
    const cache = new SfuNameCache();
    const member = only(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 }));
    const names = cache.namesOf(member);
    expect(names.rooms).toEqual(livekitRoomCandidates(member));
    expect(names.identities).toEqual(participantIdentities(member));
    const refreshed = only(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + 5, createdTs: T0 }));
    expect(cache.namesOf(refreshed)).toBe(names);
    expect(cache.size).toBe(1);
    cache.forget(member.key);
    expect(cache.size).toBe(0);
  });

  test("keeps a member's names when a refresh brings the same transports in a new list", () => {
    const cache = new SfuNameCache();
    const foci = [livekitFocus("https://a.example.org"), livekitFocus("https://b.example.org")];
    const member = only(sessionJoin({ user: ALICE, device: "DEVA", ts: T0, foci }));
    const refreshed = only(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + 5, createdTs: T0, foci }));
    expect(refreshed.transports).not.toBe(member.transports);
    const names = cache.namesOf(member);
    expect(cache.namesOf(refreshed)).toBe(names);
    const moved = only(
      sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + 9, createdTs: T0, foci: foci.slice(1) }),
    );
    expect(cache.namesOf(moved)).not.toBe(names);
  });

  test("recomputes when the member id changes, and adds an alias the chosen transport names", () => {
    const cache = new SfuNameCache();
    const first = only(stickyJoin({ user: ALICE, device: "D", memberId: "m1" }));
    const second = only(
      stickyJoin({ user: ALICE, device: "D", memberId: "m1", published: [livekitFocus(undefined, "alias")] }),
    );
    expect(cache.namesOf(first).identities).toContain(hashedTuple([ALICE, "D", "m1"]));
    expect(cache.targetOf(second, [])?.rooms).toContain("alias");
  });

  test("asks for the room's members only when the focus selection needs them", () => {
    const cache = new SfuNameCache();
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
    expect(cache.targetOf(multi, members)?.transport.livekitServiceUrl).toBe(
      livekitFocus().livekit_service_url,
    );
    expect(asked).toBe(0);
    const me = only(sessionJoin({ user: ALICE, device: "C", ts: T0 }));
    expect(cache.targetOf(me, members)?.transport.livekitServiceUrl).toBe("https://old");
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
