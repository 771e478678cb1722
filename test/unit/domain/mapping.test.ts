// SFU mapping: which transport a member depends on, LiveKit room candidates and participant identities (MSC4195).
import type { RtcMember } from "../../../src/domain/membership/model";
import { parseMembershipEvent } from "../../../src/domain/membership/parse/index";
import { hashedTuple, unpaddedB64Sha256 } from "../../../src/domain/sfu/hash";
import {
  livekitRoomCandidates,
  participantIdentities,
  sfuTargetFor,
  sfuTransportFor,
} from "../../../src/domain/sfu/mapping";
import {
  ALICE,
  BOB,
  ctxAt,
  legacyArrayEvent,
  livekitFocus,
  msc3401Event,
  ROOM,
  rtcLatestEvent,
  sessionJoin,
  stickyJoin,
  T0,
  type ClientEvent,
} from "./builders";

function only(event: ClientEvent): RtcMember {
  const result = parseMembershipEvent(event, ctxAt());
  if (result.kind !== "slot" || result.members[0] === undefined) throw new Error(JSON.stringify(result));
  return result.members[0];
}

test("MSC4195 test vector", () => {
  expect(hashedTuple(["!roomid:example.com", "slot1234"])).toBe(
    "O8437W3+jmzMVjoIP3tNwbm+XxHQk2iKpOA7aqw3qSc",
  );
  expect(unpaddedB64Sha256("")).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
});

describe("sfuTransportFor", () => {
  const oldFocus = livekitFocus("https://old.example.org");
  const newFocus = livekitFocus("https://new.example.org");

  test("oldest_membership: everyone uses the oldest member's first preferred focus", () => {
    const oldest = only(sessionJoin({ user: BOB, device: "B", ts: T0 - 1000, foci: [oldFocus] }));
    const me = only(sessionJoin({ user: ALICE, device: "A", ts: T0, foci: [newFocus] }));
    expect(sfuTransportFor(me, [me, oldest])?.livekitServiceUrl).toBe("https://old.example.org");
    expect(sfuTransportFor(oldest, [me, oldest])?.livekitServiceUrl).toBe("https://old.example.org");
    const otherCall = only(
      sessionJoin({ user: BOB, device: "C", ts: T0 - 5000, callId: "x", foci: [oldFocus] }),
    );
    expect(sfuTransportFor(me, [me, otherCall])?.livekitServiceUrl).toBe("https://new.example.org");
  });

  test("oldest_membership follows an older sticky member's published transport, like js-sdk 43", () => {
    const sticky = only(
      stickyJoin({ user: BOB, device: "B", ts: T0 - 1000, durationMs: 3_600_000, published: [oldFocus] }),
    );
    const me = only(sessionJoin({ user: ALICE, device: "A", ts: T0, foci: [newFocus] }));
    expect(sfuTransportFor(me, [sticky])?.livekitServiceUrl).toBe("https://old.example.org");
  });

  test("multi_sfu, sticky, MSC3401: the member's own first transport; unknown selection: none", () => {
    const oldest = only(sessionJoin({ user: BOB, device: "B", ts: T0 - 1000, foci: [oldFocus] }));
    const multi = only(
      sessionJoin({ user: ALICE, device: "A", focusSelection: "multi_sfu", foci: [newFocus] }),
    );
    expect(sfuTransportFor(multi, [oldest])?.livekitServiceUrl).toBe("https://new.example.org");
    const sticky = only(stickyJoin({ user: ALICE, device: "S", published: [newFocus] }));
    expect(sfuTransportFor(sticky, [oldest])?.livekitServiceUrl).toBe("https://new.example.org");
    const mesh = only(
      msc3401Event({ user: ALICE, calls: [{ callId: "c", devices: [{ deviceId: "D", expiresTs: T0 }] }] }),
    );
    expect(sfuTransportFor(mesh, [])).toBeNull();
    const weird = only(sessionJoin({ user: ALICE, device: "W", focusSelection: "coin_flip" }));
    expect(sfuTransportFor(weird, [])).toBeNull();
    expect(sfuTargetFor(weird, [])).toBeNull();
  });

  test("legacy array: the oldest legacy entry's foci_active[0]", () => {
    const event = legacyArrayEvent({
      user: ALICE,
      entries: [
        { deviceId: "NEW", createdTs: T0, expires: 1, foci: [newFocus] },
        { deviceId: "OLD", createdTs: T0 - 9, expires: 1, foci: [oldFocus] },
      ],
    });
    const result = parseMembershipEvent(event, ctxAt());
    const members = result.kind === "slot" ? result.members : [];
    expect(members.map((m) => sfuTransportFor(m, members)?.livekitServiceUrl)).toEqual([
      "https://old.example.org",
      "https://old.example.org",
    ]);
  });
});

describe("livekitRoomCandidates", () => {
  test("raw id, alias, both hashes of the slot, and the 2023 room-callId scheme", () => {
    const member = only(
      sessionJoin({
        user: ALICE,
        device: "A",
        callId: "conf",
        foci: [livekitFocus(undefined, "alias-room")],
      }),
    );
    expect(livekitRoomCandidates(member)).toEqual([
      ROOM,
      unpaddedB64Sha256(`${ROOM}|m.call#conf`),
      hashedTuple([ROOM, "m.call#conf"]),
      `${ROOM}-conf`,
      "alias-room",
    ]);
  });

  test("the room call of state (call_id '') and sticky (m.call#ROOM) members share the room name", () => {
    const state = only(sessionJoin({ user: ALICE, device: "A" }));
    const sticky = only(stickyJoin({ user: BOB, device: "B" }));
    expect(livekitRoomCandidates(state)).toEqual(livekitRoomCandidates(sticky));
    expect(livekitRoomCandidates(state)).toContain(hashedTuple([ROOM, "m.call#ROOM"]));
    expect(livekitRoomCandidates(state)).not.toContain(`${ROOM}-`);
  });
});

describe("participantIdentities", () => {
  test("format C: user:device and the hash with membershipID", () => {
    const member = only(sessionJoin({ user: ALICE, device: "DEVA" }));
    expect(participantIdentities(member)).toEqual([
      `${ALICE}:DEVA`,
      hashedTuple([ALICE, "DEVA", `${ALICE}:DEVA`]),
    ]);
  });

  test("format D: the js-sdk 43 hash with member.id, and the MSC4195 text's [sender, member.id]", () => {
    const member = only(stickyJoin({ user: ALICE, device: "DEVC", memberId: "m-1" }));
    expect(participantIdentities(member)).toEqual([
      `${ALICE}:DEVC`,
      hashedTuple([ALICE, "DEVC", "m-1"]),
      hashedTuple([ALICE, "m-1"]),
    ]);
  });

  test("format E without a device: only the [sender, member.id] hash", () => {
    const member = only(rtcLatestEvent({ user: ALICE, device: "X", membership: "join", memberId: "xyz" }));
    expect(participantIdentities(member)).toEqual([hashedTuple([ALICE, "xyz"])]);
  });

  test("format A: only user:device (no member id)", () => {
    const member = only(
      msc3401Event({ user: ALICE, calls: [{ callId: "c", devices: [{ deviceId: "D", expiresTs: T0 }] }] }),
    );
    expect(participantIdentities(member)).toEqual([`${ALICE}:D`]);
  });
});
