// RoomCallState: slot replacement, joins/updates/leaves, room membership, sticky order, resync and expiry.
import type { MemberChange } from "../../../src/domain/membership/changes";
import { parseMembershipEvent } from "../../../src/domain/membership/parse/index";
import { RoomCallState } from "../../../src/domain/membership/room-state";
import { members } from "./parse-results";
import {
  ALICE,
  BOB,
  livekitFocus,
  msc3401Event,
  roomCreate,
  roomEncryption,
  roomMember,
  ROOM,
  rtcLatestEvent,
  sessionJoin,
  sessionLeave,
  stickyJoin,
  stickyLeave,
  T0,
} from "./builders";

const ctx = { receivedAt: T0 };

function kinds(changes: readonly MemberChange[]): string[] {
  return changes.map((c) => `${c.kind}:${c.member.deviceId}${c.kind === "left" ? `:${c.cause}` : ""}`);
}

describe("RoomCallState", () => {
  test("join, refresh, leave of a per-device membership", () => {
    const state = new RoomCallState(ROOM, { roomVersion: "12" });
    const join = state.apply(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 }), ctx);
    expect(kinds(join.changes)).toEqual(["joined:DEVA"]);
    expect(join.changes[0]).toMatchObject({ at: T0, origin: "event" });
    const refresh = state.apply(
      sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + 10, createdTs: T0, expires: 28_800_000 }),
      ctx,
    );
    expect(kinds(refresh.changes)).toEqual(["updated:DEVA"]);
    expect(state.members()[0]?.expiresAt).toBe(T0 + 28_800_000);
    const leave = state.apply(sessionLeave({ user: ALICE, device: "DEVA", ts: T0 + 20 }), ctx);
    expect(kinds(leave.changes)).toEqual(["left:DEVA:left"]);
    expect(leave.changes[0]?.at).toBe(T0 + 20);
    expect(state.memberCount).toBe(0);
  });

  test("a refresh keeps the previous member's transport list when it is equal, not the new event's copy", () => {
    const state = new RoomCallState(ROOM, { roomVersion: "12" });
    const foci = [livekitFocus("https://a.example.org"), livekitFocus("https://b.example.org")];
    const join = state.apply(sessionJoin({ user: ALICE, device: "DEVA", ts: T0, foci }), ctx);
    const first = join.changes[0]?.member;
    const refresh = sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + 10, createdTs: T0, foci });
    const parsed = members(parseMembershipEvent(refresh, { receivedAt: T0, roomVersion: "12" }))[0];
    expect(parsed?.transports).not.toBe(first?.transports);
    state.apply(refresh, ctx);
    const kept = state.members()[0];
    expect(kept?.source.originServerTs).toBe(T0 + 10);
    expect(kept?.transports).toBe(first?.transports);
    expect(kept?.transports).toEqual(parsed?.transports);
  });

  test("applying the same event twice changes nothing", () => {
    const state = new RoomCallState(ROOM);
    const event = sessionJoin({ user: ALICE, device: "DEVA" });
    expect(state.apply(event, ctx).changes).toHaveLength(1);
    expect(state.apply(event, ctx).changes).toHaveLength(0);
  });

  test("a rejoin without created_ts (a new join) is a replacement: leave + join", () => {
    const state = new RoomCallState(ROOM);
    state.apply(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 }), ctx);
    const rejoin = state.apply(sessionJoin({ user: ALICE, device: "DEVA", ts: T0 + 1000 }), ctx);
    expect(kinds(rejoin.changes)).toEqual(["left:DEVA:replaced", "joined:DEVA"]);
  });

  test("MSC3401 arrays: a dropped device leaves, a new session_id replaces, others refresh", () => {
    const state = new RoomCallState(ROOM);
    state.apply(
      msc3401Event({
        user: ALICE,
        calls: [
          {
            callId: "c",
            devices: [
              { deviceId: "D1", expiresTs: T0 },
              { deviceId: "D2", expiresTs: T0 },
              { deviceId: "D3", expiresTs: T0 },
            ],
          },
        ],
      }),
      ctx,
    );
    const next = state.apply(
      msc3401Event({
        user: ALICE,
        ts: T0 + 5,
        calls: [
          {
            callId: "c",
            devices: [
              { deviceId: "D1", expiresTs: T0 + 9 },
              { deviceId: "D3", sessionId: "new", expiresTs: T0 },
            ],
          },
        ],
      }),
      ctx,
    );
    expect(kinds(next.changes)).toEqual(["left:D2:left", "updated:D1", "left:D3:replaced", "joined:D3"]);
    expect(state.memberCount).toBe(2);
    // Refreshes keep the earliest creation instant (format A has no created_ts).
    expect(state.members().find((m) => m.deviceId === "D1")?.createdTs).toBe(T0);
  });

  test("invalid content replaces the slot: its members leave with cause invalid", () => {
    const state = new RoomCallState(ROOM);
    state.apply(sessionJoin({ user: ALICE, device: "DEVA" }), ctx);
    const junk = { ...sessionLeave({ user: ALICE, device: "DEVA" }), content: { application: 5 } };
    expect(kinds(state.apply(junk, ctx).changes)).toEqual(["left:DEVA:invalid"]);
  });

  test("m.room.member: leaving the room removes the user's members from the call, joining brings them back", () => {
    const state = new RoomCallState(ROOM);
    state.apply(sessionJoin({ user: ALICE, device: "D1" }), ctx);
    state.apply(sessionJoin({ user: ALICE, device: "D2" }), ctx);
    state.apply(sessionJoin({ user: BOB, device: "B1" }), ctx);
    expect(state.isJoined(ALICE)).toBe("unknown");
    const gone = state.apply(roomMember(ALICE, "leave", { ts: T0 + 50 }), ctx);
    expect(kinds(gone.changes)).toEqual(["left:D1:left_room", "left:D2:left_room"]);
    expect(gone.changes[0]?.at).toBe(T0 + 50);
    expect(state.isJoined(ALICE)).toBe(false);
    expect(state.members().map((m) => m.deviceId)).toEqual(["B1"]);
    expect(state.allSlotMembers()).toHaveLength(3);
    // A ghost of a user who left changes nothing in the effective call when cleared.
    expect(state.apply(sessionLeave({ user: ALICE, device: "D2", sender: BOB }), ctx).changes).toHaveLength(
      0,
    );
    expect(state.allSlotMembers()).toHaveLength(2);
    expect(kinds(state.apply(roomMember(ALICE, "join"), ctx).changes)).toEqual(["joined:D1"]);
    expect(state.isJoined(ALICE)).toBe(true);
  });

  test("ban, invite and knock are not joined", () => {
    for (const membership of ["ban", "invite", "knock"]) {
      const state = new RoomCallState(ROOM);
      state.apply(sessionJoin({ user: ALICE, device: "D1" }), ctx);
      state.apply(roomMember(ALICE, membership), ctx);
      expect(state.members()).toHaveLength(0);
    }
  });

  test("tracks the room version and encryption; the version decides MSC3757 keys", () => {
    const state = new RoomCallState(ROOM);
    state.apply(roomCreate("org.matrix.msc3757.11"), ctx);
    expect(state.roomVersion).toBe("org.matrix.msc3757.11");
    expect(state.apply(sessionJoin({ user: ALICE, device: "D", owned: true }), ctx).changes).toHaveLength(1);
    const v12 = new RoomCallState(ROOM, { roomVersion: "12" });
    expect(v12.apply(sessionJoin({ user: ALICE, device: "D", owned: true }), ctx).changes).toHaveLength(0);
    expect(state.encrypted).toBe(false);
    state.apply(roomEncryption(), ctx);
    expect(state.encrypted).toBe(true);
  });

  test("events of another room are ignored", () => {
    const state = new RoomCallState(ROOM);
    const outcome = state.apply(sessionJoin({ user: ALICE, device: "D", roomId: "!other:x" }), ctx);
    expect(outcome.changes).toHaveLength(0);
    expect(outcome.parse).toMatchObject({ kind: "invalid", reasons: ["room_id: another room"] });
  });

  test("sticky: a late, older event for the same key does not resurrect a left member (MSC4354 order)", () => {
    const state = new RoomCallState(ROOM);
    const join = stickyJoin({ user: ALICE, device: "DEVC", ts: T0, durationMs: 3_600_000 });
    const leave = stickyLeave({ user: ALICE, device: "DEVC", ts: T0 + 100, durationMs: 3_600_000 });
    state.apply(join, ctx);
    expect(kinds(state.apply(leave, ctx).changes)).toEqual(["left:DEVC:left"]);
    const replay = { ...join, event_id: "$late:example.org" };
    expect(state.apply(replay, ctx).changes).toHaveLength(0);
    expect(state.memberCount).toBe(0);
  });

  test("sticky refreshes keep the first creation instant; expiry ends lapsed sticky members", () => {
    const state = new RoomCallState(ROOM);
    state.apply(stickyJoin({ user: ALICE, device: "DEVC", ts: T0, durationMs: 3_600_000 }), ctx);
    const refresh = state.apply(
      stickyJoin({ user: ALICE, device: "DEVC", ts: T0 + 1000, durationMs: 3_600_000 }),
      { receivedAt: T0 + 1000 },
    );
    expect(kinds(refresh.changes)).toEqual(["updated:DEVC"]);
    expect(state.members()[0]?.createdTs).toBe(T0);
    expect(state.expireSticky(T0 + 3_600_999)).toHaveLength(0);
    const lapsed = state.expireSticky(T0 + 3_601_000);
    expect(kinds(lapsed)).toEqual(["left:DEVC:expired"]);
    expect(lapsed[0]).toMatchObject({ origin: "expiry", at: T0 + 3_601_000 });
  });

  test("an emptied sticky slot stays visible as a tombstone until its stickiness ends", () => {
    const state = new RoomCallState(ROOM);
    const leave = stickyLeave({ user: ALICE, device: "DEVC", ts: T0, durationMs: 1000 });
    state.apply(leave, ctx);
    const key = `sticky\u0000org.matrix.msc4143.rtc.member\u0000${ALICE}\u0000${ALICE}:DEVC`;
    expect(state.slot(key)).toMatchObject({ members: [], ref: { eventId: leave.event_id } });
    expect(state.expireSticky(T0 + 999)).toEqual([]);
    expect(state.slot(key)).toBeDefined();
    state.expireSticky(T0 + 1000);
    expect(state.slot(key)).toBeUndefined();
  });

  test("sticky memberships a resync loaded lapse on time, like those applied one by one", () => {
    const state = new RoomCallState(ROOM);
    state.apply(stickyJoin({ user: ALICE, device: "OLD", ts: T0, durationMs: 3_600_000 }), ctx);
    const loaded = state.loadState(
      [stickyJoin({ user: ALICE, device: "DEVC", ts: T0, durationMs: 1000 })],
      ctx,
    );
    expect(kinds(loaded)).toEqual(["left:OLD:left", "joined:DEVC"]);
    expect(state.expireSticky(T0 + 999)).toEqual([]);
    expect(kinds(state.expireSticky(T0 + 1000))).toEqual(["left:DEVC:expired"]);
  });

  test("a tombstone keeps only the slot's order and event id; a held slot gives its full reference", () => {
    const state = new RoomCallState(ROOM);
    const join = stickyJoin({ user: ALICE, device: "DEVC", ts: T0, durationMs: 3_600_000 });
    state.apply(join, ctx);
    const key = `sticky\u0000org.matrix.msc4143.rtc.member\u0000${ALICE}\u0000${ALICE}:DEVC`;
    expect(state.heldSlot(key)?.ref).toMatchObject({ eventId: join.event_id, owner: ALICE, sender: ALICE });
    const leave = stickyLeave({ user: ALICE, device: "DEVC", ts: T0 + 10, durationMs: 3_600_000 });
    state.apply(leave, { receivedAt: T0 + 10 });
    expect(state.heldSlot(key)).toBeUndefined();
    expect(state.slot(key)?.ref).toEqual({
      key,
      eventId: leave.event_id,
      originServerTs: T0 + 10,
      stickyDurationMs: 3_600_000,
    });
    // The mark still orders late events: an older join cannot revive the slot, a newer one can.
    const late = stickyJoin({ user: ALICE, device: "DEVC", ts: T0 + 5, durationMs: 3_600_000 });
    expect(state.apply(late, { receivedAt: T0 + 20 }).changes).toEqual([]);
    const newer = stickyJoin({ user: ALICE, device: "DEVC", ts: T0 + 30, durationMs: 3_600_000 });
    expect(kinds(state.apply(newer, { receivedAt: T0 + 30 }).changes)).toEqual(["joined:DEVC"]);
    expect(state.heldSlot(key)?.ref.eventId).toBe(newer.event_id);
  });

  test("an MSC4143 delayed leave carries its leave code", () => {
    const state = new RoomCallState(ROOM);
    state.apply(rtcLatestEvent({ user: ALICE, device: "X", membership: "join", ts: T0 }), ctx);
    const leave = state.apply(
      rtcLatestEvent({
        user: ALICE,
        device: "X",
        membership: "leave",
        leaveCode: "delayed_leave",
        ts: T0 + 1,
      }),
      ctx,
    );
    expect(leave.changes[0]).toMatchObject({ kind: "left", cause: "left", leaveCode: "delayed_leave" });
  });

  test("loadState returns the diff: joins, updates, replacements, lefts and left_room", () => {
    const state = new RoomCallState(ROOM);
    const keep = sessionJoin({ user: ALICE, device: "KEEP" });
    state.apply(keep, ctx);
    state.apply(sessionJoin({ user: ALICE, device: "GONE" }), ctx);
    state.apply(sessionJoin({ user: ALICE, device: "REFRESH", ts: T0 }), ctx);
    state.apply(sessionJoin({ user: BOB, device: "BOB1" }), ctx);
    const changes = state.loadState(
      [
        roomCreate("12"),
        keep,
        sessionJoin({ user: ALICE, device: "REFRESH", ts: T0 + 9, createdTs: T0 }),
        sessionJoin({ user: BOB, device: "BOB1" }),
        roomMember(BOB, "leave"),
        sessionJoin({ user: ALICE, device: "NEW" }),
      ],
      { receivedAt: T0 + 100 },
    );
    expect(kinds(changes)).toEqual([
      "left:GONE:left",
      "updated:REFRESH",
      "left:BOB1:left_room",
      "joined:NEW",
    ]);
    expect(changes.every((c) => c.origin === "resync" && c.at === T0 + 100)).toBe(true);
    expect(state.roomVersion).toBe("12");
    expect(state.loadState([roomCreate("12"), keep], { receivedAt: T0 + 200 }).map((c) => c.kind)).toEqual([
      "left",
      "left",
    ]);
  });
});

describe("RoomCallState edge cases", () => {
  test("a seed state key that names no user, written by another user, is a new session, not a refresh", () => {
    const state = new RoomCallState(ROOM);
    const base = { type: "m.rtc.member", room_id: ROOM, origin_server_ts: T0, state_key: "shared-key" };
    const content = { "m.application": "m.call", "m.call_id": "", device_id: "D" };
    state.apply({ ...base, event_id: "$a", sender: ALICE, content }, ctx);
    const next = state.apply({ ...base, event_id: "$b", sender: BOB, content }, ctx);
    expect(next.changes.map((c) => c.kind)).toEqual(["left", "joined"]);
    expect(state.members()[0]?.userId).toBe(BOB);
  });
});
