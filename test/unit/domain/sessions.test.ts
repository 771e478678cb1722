// User and call sessions (MSC4143 historic sessions) from the member change stream, with property tests.
import fc from "fast-check";
import type { MemberChange } from "../../../src/domain/membership/changes";
import { RoomCallState } from "../../../src/domain/membership/room-state";
import { SessionTracker } from "../../../src/domain/sessions/tracker";
import type { SessionEvent } from "../../../src/domain/sessions/types";
import { eventStreamArb } from "./arbitraries";
import { ALICE, BOB, ROOM, rtcLatestEvent, sessionJoin, sessionLeave, T0 } from "./builders";

const ctx = { receivedAt: T0 };

function feed(state: RoomCallState, tracker: SessionTracker, event: unknown, note = {}): SessionEvent[] {
  return state.apply(event, ctx).changes.flatMap((c) => [...tracker.apply(c, note)]);
}

describe("SessionTracker", () => {
  test("a call starts with the first user session and ends with the last; peaks count users and devices", () => {
    const state = new RoomCallState(ROOM);
    const tracker = new SessionTracker();
    const first = feed(state, tracker, sessionJoin({ user: ALICE, device: "A1", ts: T0 }));
    expect(first.map((e) => e.kind)).toEqual(["user-session-opened", "call-session-started"]);
    expect(first[0]).toMatchObject({
      session: { userId: ALICE, deviceId: "A1", joinedAt: T0, leftAt: null, joinedBeforeTracking: false },
    });
    feed(state, tracker, sessionJoin({ user: ALICE, device: "A2", ts: T0 + 10 }));
    const bob = feed(state, tracker, sessionJoin({ user: BOB, device: "B1", ts: T0 + 20 }));
    expect(bob[1]).toMatchObject({
      kind: "call-session-updated",
      call: { peakConcurrency: 2, peakDevices: 3, distinctParticipants: 2, userSessions: 3 },
    });
    feed(state, tracker, sessionLeave({ user: ALICE, device: "A1", ts: T0 + 30 }));
    feed(state, tracker, sessionLeave({ user: ALICE, device: "A2", ts: T0 + 40 }));
    const end = feed(state, tracker, sessionLeave({ user: BOB, device: "B1", ts: T0 + 50 }));
    expect(end.map((e) => e.kind)).toEqual(["user-session-closed", "call-session-ended"]);
    expect(end[0]).toMatchObject({ session: { leftAt: T0 + 50, leaveReason: "left" } });
    expect(end[1]).toMatchObject({
      call: {
        startedAt: T0,
        endedAt: T0 + 50,
        peakConcurrency: 2,
        distinctParticipants: 2,
        userSessions: 3,
        endReason: "left",
      },
    });
    expect(tracker.openCount).toBe(0);
  });

  test("the caller's leave reason overrides the cause (the app knows its own clears)", () => {
    const state = new RoomCallState(ROOM);
    const tracker = new SessionTracker();
    feed(state, tracker, sessionJoin({ user: ALICE, device: "A1" }));
    const events = feed(state, tracker, sessionLeave({ user: ALICE, device: "A1", sender: BOB }), {
      leaveReason: "cleared",
    });
    expect(events[0]).toMatchObject({ kind: "user-session-closed", session: { leaveReason: "cleared" } });
  });

  test("an MSC4143 delayed leave closes with delayed_leave_fired; a replaced session reopens with a new id", () => {
    const state = new RoomCallState(ROOM);
    const tracker = new SessionTracker();
    feed(state, tracker, rtcLatestEvent({ user: ALICE, device: "X", membership: "join", ts: T0 }));
    const leave = feed(
      state,
      tracker,
      rtcLatestEvent({
        user: ALICE,
        device: "X",
        membership: "leave",
        leaveCode: "delayed_leave",
        ts: T0 + 5,
      }),
    );
    expect(leave[0]).toMatchObject({ session: { leaveReason: "delayed_leave_fired" } });
    feed(state, tracker, sessionJoin({ user: ALICE, device: "A1", ts: T0 }));
    const before = tracker.openUserSessions()[0]?.id;
    const rejoin = feed(state, tracker, sessionJoin({ user: ALICE, device: "A1", ts: T0 + 100 }));
    expect(rejoin.map((e) => e.kind)).toEqual([
      "user-session-closed",
      "call-session-ended",
      "user-session-opened",
      "call-session-started",
    ]);
    expect(rejoin[0]).toMatchObject({ session: { id: before, leaveReason: "replaced" } });
    expect(tracker.openUserSessions()[0]?.id).not.toBe(before);
  });

  test("joins found by a resync predate tracking: joinedAt is the member's creation", () => {
    const state = new RoomCallState(ROOM);
    const tracker = new SessionTracker();
    const changes = state.loadState(
      [sessionJoin({ user: ALICE, device: "A1", ts: T0 + 9, createdTs: T0 - 3600_000 })],
      { receivedAt: T0 + 100 },
    );
    const events = changes.flatMap((c) => [...tracker.apply(c)]);
    expect(events[0]).toMatchObject({ session: { joinedAt: T0 - 3600_000, joinedBeforeTracking: true } });
    expect(events[1]).toMatchObject({ kind: "call-session-started", call: { startedAt: T0 - 3600_000 } });
  });

  test("skewed clocks never end a session before it began", () => {
    const state = new RoomCallState(ROOM);
    const tracker = new SessionTracker();
    feed(state, tracker, sessionJoin({ user: ALICE, device: "A1", ts: T0 + 10_000 }));
    const events = feed(state, tracker, sessionLeave({ user: ALICE, device: "A1", ts: T0, sender: BOB }));
    expect(events[0]).toMatchObject({ session: { joinedAt: T0 + 10_000, leftAt: T0 + 10_000 } });
    expect(events[1]).toMatchObject({ call: { startedAt: T0 + 10_000, endedAt: T0 + 10_000 } });
  });
});

describe("SessionTracker restore and call ids", () => {
  test("callIdOf answers for open sessions and for those the latest apply closed", () => {
    const state = new RoomCallState(ROOM);
    const tracker = new SessionTracker();
    const opened = feed(state, tracker, sessionJoin({ user: ALICE, device: "A1" }));
    const session = opened[0]?.kind === "user-session-opened" ? opened[0].session : null;
    const call = opened[1]?.kind === "call-session-started" ? opened[1].call : null;
    expect(tracker.callIdOf(session?.id ?? "")).toBe(call?.id);
    const closed = feed(state, tracker, sessionLeave({ user: ALICE, device: "A1" }));
    expect(closed.map((e) => e.kind)).toEqual(["user-session-closed", "call-session-ended"]);
    expect(tracker.callIdOf(session?.id ?? "")).toBe(call?.id);
    feed(state, tracker, sessionJoin({ user: BOB, device: "B1" }));
    expect(tracker.callIdOf(session?.id ?? "")).toBeNull();
    expect(tracker.callIdOf("nonsense")).toBeNull();
  });

  test("restore rebuilds open sessions and calls without events, and later leaves close them", () => {
    const before = new SessionTracker();
    const state = new RoomCallState(ROOM);
    feed(state, before, sessionJoin({ user: ALICE, device: "A1", ts: T0 }));
    feed(state, before, sessionJoin({ user: BOB, device: "B1", ts: T0 + 5 }));
    feed(state, before, sessionLeave({ user: BOB, device: "B1", ts: T0 + 9 }));
    const calls = before.openCallSessions();
    const after = new SessionTracker();
    after.restore(before.openUserSessions(), calls);
    expect(after.openUserSessions()).toEqual(before.openUserSessions());
    expect(after.openCallSessions()).toEqual(calls);
    const aliceKey = before.openUserSessions()[0]?.memberKey ?? "";
    const events = after.apply({
      kind: "left",
      member: state.member(aliceKey) as NonNullable<ReturnType<RoomCallState["member"]>>,
      at: T0 + 20,
      cause: "left",
      origin: "event",
      eventId: "$x",
      leaveCode: null,
    });
    expect(events[1]).toMatchObject({
      kind: "call-session-ended",
      call: {
        id: calls[0]?.id,
        startedAt: T0,
        endedAt: T0 + 20,
        distinctParticipants: 2,
        peakConcurrency: 2,
      },
    });
  });
});

describe("session properties", () => {
  test("a leave after a join closes exactly that user session; open sessions mirror the effective call", () => {
    fc.assert(
      fc.property(eventStreamArb, (events) => {
        const state = new RoomCallState(ROOM, { roomVersion: "12" });
        const tracker = new SessionTracker();
        for (const event of events) {
          for (const change of state.apply(event, ctx).changes) {
            const open = new Map(tracker.openUserSessions().map((s) => [s.memberKey, s.id]));
            const out = tracker.apply(change);
            const closed = out.filter((e) => e.kind === "user-session-closed").map((e) => e.session.id);
            if (change.kind === "left") {
              expect(closed).toEqual([open.get(change.member.key)]);
              const after = new Map(tracker.openUserSessions().map((s) => [s.memberKey, s.id]));
              open.delete(change.member.key);
              expect(after).toEqual(open);
            }
          }
          const effective = state
            .members()
            .map((m) => m.key)
            .sort();
          expect(
            tracker
              .openUserSessions()
              .map((s) => s.memberKey)
              .sort(),
          ).toEqual(effective);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("call sessions: end ≥ start, peak users ≤ distinct users, peak devices ≤ user sessions", () => {
    fc.assert(
      fc.property(
        eventStreamArb,
        fc.array(fc.constantFrom<"cleared" | undefined>("cleared", undefined)),
        (events, notes) => {
          const state = new RoomCallState(ROOM, { roomVersion: "12" });
          const tracker = new SessionTracker();
          let i = 0;
          const check = (e: SessionEvent): void => {
            if (e.kind === "user-session-opened" || e.kind === "user-session-closed") {
              if (e.session.leftAt !== null)
                expect(e.session.leftAt).toBeGreaterThanOrEqual(e.session.joinedAt);
              return;
            }
            const call = e.call;
            expect(call.peakConcurrency).toBeLessThanOrEqual(call.distinctParticipants);
            expect(call.peakDevices).toBeLessThanOrEqual(call.userSessions);
            expect(call.peakConcurrency).toBeGreaterThanOrEqual(1);
            if (e.kind === "call-session-ended") expect(call.endedAt).toBeGreaterThanOrEqual(call.startedAt);
            else expect(call.endedAt).toBeNull();
          };
          for (const event of events) {
            const changes: readonly MemberChange[] = state.apply(event, ctx).changes;
            for (const change of changes) {
              const note = notes[i++ % Math.max(notes.length, 1)];
              tracker.apply(change, note === undefined ? {} : { leaveReason: note }).forEach(check);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
