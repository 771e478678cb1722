// Parsing of the sticky formats: js-sdk 43 (D) and the latest MSC4143 text (E), plus encrypted sticky events.
import { parseMembershipEvent } from "../../../src/domain/membership/parse/index";
import { ALICE, BOB, ctxAt, ROOM, RTC_MEMBER, rtcLatestEvent, stickyJoin, stickyLeave, T0 } from "./builders";
import { members, reasons } from "./parse-results";

describe("format D (js-sdk 43 sticky)", () => {
  test("parses the join: member id, slot, published transport, sticky slot key", () => {
    const result = parseMembershipEvent(stickyJoin({ user: ALICE, device: "DEVC" }), ctxAt(T0 + 100));
    const [m] = members(result);
    expect(m).toMatchObject({
      userId: ALICE,
      deviceId: "DEVC",
      application: "m.call",
      callId: "",
      slotId: "m.call#ROOM",
      memberId: `${ALICE}:DEVC`,
      sessionId: `${ALICE}:DEVC`,
      focusActive: null,
      source: { format: "sticky", stateKey: null, stickyKey: `${ALICE}:DEVC` },
    });
    expect(m?.slotKey).toBe(`sticky\u0000${RTC_MEMBER}\u0000${ALICE}\u0000${ALICE}:DEVC`);
    expect(m?.transports).toHaveLength(1);
    expect(result.kind === "slot" && result.slot.owner).toBe(ALICE);
  });

  test("expiry from msc4354_sticky: min(receivedAt, origin_server_ts) + min(duration, 1 h)", () => {
    const early = stickyJoin({ user: ALICE, device: "D", ts: T0, durationMs: 7_200_000 });
    expect(members(parseMembershipEvent(early, ctxAt(T0 + 500)))[0]?.expiresAt).toBe(T0 + 3_600_000);
    const future = stickyJoin({ user: ALICE, device: "D", ts: T0 + 10_000, durationMs: 600_000 });
    expect(members(parseMembershipEvent(future, ctxAt(T0)))[0]?.expiresAt).toBe(T0 + 600_000);
  });

  test("without the top-level object, the delivered TTL counts from our receive instant", () => {
    const event = stickyJoin({ user: ALICE, device: "D", ts: T0 - 1000, ttlMs: 1_000_000 });
    expect(members(parseMembershipEvent(event, ctxAt(T0)))[0]?.expiresAt).toBe(T0 + 1_000_000);
  });

  test("a non-sticky event cannot be tied to a sticky slot", () => {
    const result = parseMembershipEvent(stickyJoin({ user: ALICE, device: "D", ttlMs: null }), ctxAt());
    expect(reasons(result)).toEqual(["msc4354_sticky: missing, not a sticky event"]);
    expect(result.kind === "invalid" && result.slot).toBeNull();
  });

  test("the leave {slot_id, msc4354_sticky_key} empties the slot", () => {
    const result = parseMembershipEvent(stickyLeave({ user: ALICE, device: "DEVC" }), ctxAt());
    expect(members(result)).toHaveLength(0);
    expect(result.kind === "slot" && result.slot.stickyKey).toBe(`${ALICE}:DEVC`);
  });

  test("member.user_id must be the sender; bad slot ids and transports are all reported", () => {
    const event = stickyJoin({ user: ALICE, device: "D", sender: BOB });
    const content = {
      ...event.content,
      slot_id: "other#x#y",
      transports: { published: "no", can_subscribe: [1] },
      versions: {},
    };
    expect(reasons(parseMembershipEvent({ ...event, content }, ctxAt()))).toEqual([
      "content.member.user_id: not the sender",
      "content.slot_id: not <application>#<id>",
      "content.transports.can_subscribe: not all strings",
      "content.transports.published: not an array",
      "content.versions: not an array",
    ]);
  });

  test("older drafts' rtc_transports are read as the published transports", () => {
    const event = stickyJoin({ user: ALICE, device: "D" });
    const { transports: _t, ...rest } = event.content;
    const content = { ...rest, rtc_transports: [{ type: "livekit", livekit_service_url: "https://x" }] };
    expect(
      members(parseMembershipEvent({ ...event, content }, ctxAt()))[0]?.transports[0]?.livekitServiceUrl,
    ).toBe("https://x");
  });

  test("a non-ROOM slot keeps its own call id", () => {
    const event = stickyJoin({ user: ALICE, device: "D", slotId: "m.call#breakout" });
    expect(members(parseMembershipEvent(event, ctxAt()))[0]).toMatchObject({
      callId: "breakout",
      slotId: "m.call#breakout",
    });
  });

  test("differing sticky_key and msc4354_sticky_key cannot name a slot", () => {
    const event = stickyJoin({ user: ALICE, device: "D" });
    const result = parseMembershipEvent(
      { ...event, content: { ...event.content, sticky_key: "other" } },
      ctxAt(),
    );
    expect(reasons(result)).toContain("content.sticky_key: differs from msc4354_sticky_key");
  });
});

describe("format E (latest MSC4143)", () => {
  test("join: sender is the user, member.id is the member and session id, device unknown", () => {
    const [m] = members(
      parseMembershipEvent(rtcLatestEvent({ user: ALICE, device: "X", membership: "join" }), ctxAt()),
    );
    expect(m).toMatchObject({
      userId: ALICE,
      deviceId: "",
      memberId: "mid-X",
      sessionId: "mid-X",
      callId: "",
      expiresAt: T0 + 3_600_000,
      source: { format: "rtc-latest", type: "m.rtc.member", stickyKey: "mid-X" },
    });
    expect(m?.transports[0]).toEqual({
      type: "m.livekit",
      url: "wss://sfu.example.org",
      livekitServiceUrl: null,
      livekitAlias: null,
    });
  });

  test("leave empties the slot and carries leave_reason.code", () => {
    const result = parseMembershipEvent(
      rtcLatestEvent({ user: ALICE, device: "X", membership: "leave", leaveCode: "delayed_leave" }),
      ctxAt(),
    );
    expect(result).toMatchObject({ kind: "slot", members: [], leaveCode: "delayed_leave" });
  });

  test("member.id must equal the sticky key, membership must be join or leave", () => {
    const event = rtcLatestEvent({ user: ALICE, device: "X", membership: "join" });
    const content = { ...event.content, member: { id: "other", membership: "maybe" } };
    expect(reasons(parseMembershipEvent({ ...event, content }, ctxAt()))).toEqual([
      "content.member.id: differs from the sticky key",
      "content.member.membership: not join or leave",
    ]);
  });
});

describe("encrypted and misrouted sticky events", () => {
  test("an encrypted sticky event is reported as unreadable", () => {
    const event = {
      type: "m.room.encrypted",
      event_id: "$e",
      room_id: ROOM,
      sender: ALICE,
      origin_server_ts: T0,
      content: {},
      msc4354_sticky: { duration_ms: 1 },
    };
    expect(parseMembershipEvent(event, ctxAt())).toEqual({
      kind: "unreadable",
      reason: "encrypted",
      roomId: ROOM,
      sender: ALICE,
      eventId: "$e",
    });
    expect(parseMembershipEvent({ ...event, msc4354_sticky: undefined }, ctxAt())).toEqual({
      kind: "not-membership",
    });
  });

  test("an rtc.member event with a state key is the seed state format, not sticky", () => {
    const event = { ...stickyJoin({ user: ALICE, device: "D" }), state_key: `${ALICE}_D` };
    const result = parseMembershipEvent(event, ctxAt());
    expect(result.kind === "invalid" && result.slot?.format).toBe("rtc-state");
  });
});
