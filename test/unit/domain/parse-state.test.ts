// Parsing of the state formats: MSC3401 (A), legacy array (B), per-device session (C), seed MSC4143 (S).
import { parseMembershipEvent } from "../../../src/domain/membership/parse/index";
import {
  ALICE,
  BOB,
  CALL_MEMBER,
  ctxAt,
  legacyArrayEvent,
  livekitFocus,
  msc3401Event,
  ROOM,
  rtcStateEvent,
  sessionJoin,
  sessionLeave,
  T0,
} from "./builders";
import { members, reasons } from "./parse-results";

describe("format C (per-device session state)", () => {
  test("parses js-sdk 43's join into one member with the 4 h default expiry from origin_server_ts", () => {
    const event = sessionJoin({ user: ALICE, device: "DEVA" });
    const [m, ...rest] = members(parseMembershipEvent(event, ctxAt()));
    expect(rest).toHaveLength(0);
    expect(m).toMatchObject({
      roomId: ROOM,
      userId: ALICE,
      deviceId: "DEVA",
      application: "m.call",
      callId: "",
      slotId: "m.call#ROOM",
      memberId: `${ALICE}:DEVA`,
      createdTs: T0,
      expiresAt: T0 + 14_400_000,
      focusActive: { type: "livekit", focusSelection: "oldest_membership" },
      transports: [
        {
          type: "livekit",
          livekitServiceUrl: livekitFocus().livekit_service_url,
          livekitAlias: null,
          url: null,
        },
      ],
      source: { format: "session", stateKey: `_${ALICE}_DEVA_m.call`, stickyKey: null, sender: ALICE },
    });
    expect(m?.slotKey).toBe(`state\u0000${CALL_MEMBER}\u0000_${ALICE}_DEVA_m.call`);
    expect(m?.key).toBe(`${ROOM}\u0000${m?.slotKey}\u0000DEVA\u0000m.call\u0000`);
  });

  test("expiry counts from created_ts when the update carries it", () => {
    const event = sessionJoin({
      user: ALICE,
      device: "DEVA",
      createdTs: T0 - 1000,
      expires: 7_200_000,
      ts: T0 + 5000,
    });
    expect(members(parseMembershipEvent(event, ctxAt()))[0]?.expiresAt).toBe(T0 - 1000 + 7_200_000);
  });

  test("reads the device from content, never from the key (device ids may contain _)", () => {
    const event = sessionJoin({ user: ALICE, device: "DEV_WITH_UNDERSCORE", suffix: false });
    expect(members(parseMembershipEvent(event, ctxAt()))[0]?.deviceId).toBe("DEV_WITH_UNDERSCORE");
  });

  test("a join on someone else's key is invalid", () => {
    const event = sessionJoin({ user: BOB, device: "DEVB", sender: ALICE });
    const result = parseMembershipEvent(event, ctxAt());
    expect(reasons(result)).toContain("state_key: owned by another user than the sender");
    expect(result.kind === "invalid" && result.slot?.owner).toBe(BOB);
  });

  test("a leave ({}) on someone else's key is a valid leave: that is how a bot clears a ghost", () => {
    const result = parseMembershipEvent(sessionLeave({ user: BOB, device: "DEVB", sender: ALICE }), ctxAt());
    expect(members(result)).toHaveLength(0);
    expect(result.kind === "slot" && result.slot.format).toBe("session");
  });

  test("MSC3757 room versions use keys without the leading _; elsewhere such keys are invalid", () => {
    const event = sessionJoin({ user: ALICE, device: "DEVA", owned: true });
    expect(members(parseMembershipEvent(event, ctxAt(T0, "org.matrix.msc3757.11")))).toHaveLength(1);
    expect(members(parseMembershipEvent(event, ctxAt(T0, "org.matrix.msc3779.1")))).toHaveLength(1);
    expect(reasons(parseMembershipEvent(event, ctxAt(T0, "12")))).toContain(
      "state_key: starts with @ outside an MSC3757 room version",
    );
    expect(members(parseMembershipEvent(event, ctxAt(T0, null)))).toHaveLength(1);
  });

  test("reports every reason, and the invalid state still names its slot", () => {
    const event = {
      ...sessionJoin({ user: ALICE, device: "DEVA" }),
      content: { application: 5, device_id: [], expires: -1, focus_active: "x" },
    };
    const result = parseMembershipEvent(event, ctxAt());
    expect(reasons(result)).toEqual([
      "content.application: not a string",
      "content.call_id: missing",
      "content.device_id: not a string",
      "content.expires: out of range",
      "content.focus_active: not an object",
    ]);
    expect(result.kind === "invalid" && result.slot?.stateKey).toBe(`_${ALICE}_DEVA_m.call`);
  });

  test("keeps nothing of fields it does not read: padding an event does not make its member bigger", () => {
    const event = sessionJoin({ user: ALICE, device: "DEVA" });
    const padding = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`pad${i}`, "x".repeat(200)]));
    const content = { ...event.content, "m.call.intent": "video", nested: { deep: [1] }, ...padding };
    const [plain] = members(parseMembershipEvent(event, ctxAt()));
    const [padded] = members(parseMembershipEvent({ ...event, content }, ctxAt()));
    expect(padded).toEqual(plain);
    expect(JSON.stringify(padded).length).toBe(JSON.stringify(plain).length);
  });
});

describe("format A (MSC3401 m.call.member)", () => {
  test("one member per device, with session ids and per-device expiry", () => {
    const event = msc3401Event({
      user: ALICE,
      calls: [
        {
          callId: "conf1",
          devices: [
            { deviceId: "D1", expiresTs: T0 + 10 },
            { deviceId: "D2", sessionId: "s2", expiresTs: T0 + 20, foci: [livekitFocus()] },
          ],
        },
      ],
    });
    const ms = members(parseMembershipEvent(event, ctxAt()));
    expect(
      ms.map((m) => [m.deviceId, m.callId, m.sessionId, m.expiresAt, m.source.format, m.slotId]),
    ).toEqual([
      ["D1", "conf1", "S-D1", T0 + 10, "msc3401", "m.call#conf1"],
      ["D2", "conf1", "s2", T0 + 20, "msc3401", "m.call#conf1"],
    ]);
    expect(ms[1]?.transports[0]?.livekitServiceUrl).toBe(livekitFocus().livekit_service_url);
  });

  test("skips a malformed device, keeps the rest and lists the problem", () => {
    const event = msc3401Event({
      user: ALICE,
      calls: [{ callId: "c", devices: [{ deviceId: "D1", expiresTs: T0 }] }],
    });
    const calls = event.content["m.calls"] as { "m.devices": unknown[] }[];
    calls[0]?.["m.devices"].push({ device_id: "D2" }, "junk", { device_id: "D1", expires_ts: T0 });
    const result = parseMembershipEvent(event, ctxAt());
    expect(members(result).map((m) => m.deviceId)).toEqual(["D1"]);
    expect(result.kind === "slot" && result.problems).toEqual([
      "content.m.calls[0].m.devices[1].expires_ts: missing",
      "content.m.calls[0].m.devices[2]: not an object",
      "content.m.calls[0].m.devices[3]: duplicate device",
    ]);
  });

  test("{m.calls: []} and {} are leaves; a key not equal to the sender is invalid", () => {
    const empty = msc3401Event({ user: ALICE, calls: [] });
    expect(members(parseMembershipEvent(empty, ctxAt()))).toHaveLength(0);
    const other = msc3401Event({
      user: BOB,
      sender: ALICE,
      calls: [{ callId: "c", devices: [{ deviceId: "D", expiresTs: T0 }] }],
    });
    expect(reasons(parseMembershipEvent(other, ctxAt()))).toContain(
      "state_key: owned by another user than the sender",
    );
  });

  test("rejects huge arrays without reading them", () => {
    const event = msc3401Event({ user: ALICE, calls: [] });
    const result = parseMembershipEvent(
      { ...event, content: { "m.calls": new Array(100_000).fill({}) } },
      ctxAt(),
    );
    expect(reasons(result)).toEqual(["content.m.calls: too many entries"]);
  });
});

describe("format B (legacy memberships array)", () => {
  test("expiry: created_ts (or origin_server_ts) + expires when expires is given, else expires_ts", () => {
    const event = legacyArrayEvent({
      user: ALICE,
      ts: T0,
      entries: [
        { deviceId: "D1", expires: 3_600_000 },
        { deviceId: "D2", createdTs: T0 - 50, expires: 100 },
        { deviceId: "D3", expiresTs: T0 + 99 },
        { deviceId: "D4" },
      ],
    });
    const ms = members(parseMembershipEvent(event, ctxAt()));
    expect(ms.map((m) => [m.deviceId, m.expiresAt, m.createdTs])).toEqual([
      ["D1", T0 + 3_600_000, T0],
      ["D2", T0 + 50, T0 - 50],
      ["D3", T0 + 99, T0],
      ["D4", null, T0],
    ]);
    expect(ms[0]).toMatchObject({ memberId: "M-D1", sessionId: "M-D1", source: { format: "legacy-array" } });
    expect(ms[0]?.transports[0]?.livekitAlias).toBe(ROOM);
  });

  test("skips malformed entries, keeps the rest and names each problem by its position, event after event", () => {
    const event = legacyArrayEvent({ user: ALICE, entries: [{ deviceId: "D1" }] });
    const entries = event.content.memberships as unknown[];
    entries.push(
      "junk",
      { application: "m.call", call_id: "" },
      { application: "m.call", call_id: "", device_id: "D4", expires_ts: "soon", foci_active: [7] },
      { application: "m.call", call_id: "", device_id: "D1" },
    );
    for (let round = 0; round < 2; round++) {
      const result = parseMembershipEvent(event, ctxAt());
      expect(members(result).map((m) => m.deviceId)).toEqual(["D1"]);
      expect(result.kind === "slot" && result.problems).toEqual([
        "content.memberships[1]: not an object",
        "content.memberships[2].device_id: missing",
        "content.memberships[3].expires_ts: not a number",
        "content.memberships[3].foci_active[0]: not an object",
        "content.memberships[4]: duplicate device",
      ]);
    }
  });
});

describe("format S (seed MSC4143 state)", () => {
  test("has no expiry and reads m.application / m.call_id", () => {
    const [m] = members(parseMembershipEvent(rtcStateEvent({ user: ALICE, device: "DEVA" }), ctxAt()));
    expect(m).toMatchObject({
      application: "m.call",
      callId: "",
      deviceId: "DEVA",
      expiresAt: null,
      source: { format: "rtc-state" },
    });
  });

  test("the unstable state type, the plain field names and a JSON-array key work too", () => {
    const base = rtcStateEvent({
      user: ALICE,
      device: "X",
      type: "org.matrix.msc4143.rtc.member",
      stateKey: JSON.stringify([ALICE, "DEVJ"]),
    });
    const event = { ...base, content: { application: "m.call", call_id: "c1" } };
    const [m] = members(parseMembershipEvent(event, ctxAt()));
    expect(m).toMatchObject({ deviceId: "DEVJ", callId: "c1", slotId: "m.call#c1" });
  });

  test("empty content is a leave; a key owned by someone else is invalid", () => {
    expect(
      members(parseMembershipEvent(rtcStateEvent({ user: ALICE, device: "D", empty: true }), ctxAt())),
    ).toHaveLength(0);
    const other = rtcStateEvent({ user: BOB, device: "D", sender: ALICE });
    expect(reasons(parseMembershipEvent(other, ctxAt()))).toContain(
      "state_key: owned by another user than the sender",
    );
  });
});

describe("envelopes", () => {
  test("other event types are not memberships; junk never throws", () => {
    expect(parseMembershipEvent({ type: "m.room.message", content: {} }, ctxAt())).toEqual({
      kind: "not-membership",
    });
    expect(parseMembershipEvent(null, ctxAt()).kind).toBe("invalid");
    expect(parseMembershipEvent({ type: 5 }, ctxAt()).kind).toBe("invalid");
  });

  test("negative or absurd timestamps and bad ids are reasons; the slot survives when it can be named", () => {
    const event = { ...sessionJoin({ user: ALICE, device: "D" }), origin_server_ts: -5, event_id: "nope" };
    const result = parseMembershipEvent(event, ctxAt());
    expect(reasons(result)).toEqual(["event_id: malformed", "origin_server_ts: out of range"]);
    expect(result.kind === "invalid" && result.slot).toBeNull();
    const late = { ...sessionJoin({ user: ALICE, device: "D" }), origin_server_ts: 1e20 };
    const lateResult = parseMembershipEvent(late, ctxAt(T0 + 7));
    expect(lateResult.kind === "invalid" && lateResult.slot?.originServerTs).toBe(T0 + 7);
  });

  test("a call.member event without a state key is invalid", () => {
    const { state_key: _key, ...event } = sessionJoin({ user: ALICE, device: "D" });
    expect(reasons(parseMembershipEvent(event, ctxAt()))).toContain("state_key: missing");
  });

  test("unknown content on a call.member key is invalid but still replaces the slot", () => {
    const event = { ...sessionLeave({ user: ALICE, device: "D" }), content: { hello: 1 } };
    const result = parseMembershipEvent(event, ctxAt());
    expect(reasons(result)).toEqual(["content: not a known call membership format"]);
    expect(result.kind === "invalid" && result.slot?.key).toBe(
      `state\u0000${CALL_MEMBER}\u0000_${ALICE}_D_m.call`,
    );
  });
});
