// Property tests of RoomCallState: idempotent re-application, and changes that exactly describe the effective call.
import fc from "fast-check";
import type { MembershipFormat } from "../../../src/domain/membership/model";
import { RoomCallState } from "../../../src/domain/membership/room-state";
import { oldestMemberOf } from "../../../src/domain/sfu/mapping";
import { eventStreamArb } from "./arbitraries";
import { ROOM, T0 } from "./builders";

const ctx = { receivedAt: T0 + 50_000, roomVersion: "12" };

describe("RoomCallState properties", () => {
  test("applying the same event twice in a row changes nothing the second time", () => {
    fc.assert(
      fc.property(eventStreamArb, (events) => {
        const state = new RoomCallState(ROOM, { roomVersion: "12" });
        for (const event of events) {
          state.apply(event, ctx);
          const before = state.members();
          expect(state.apply(event, ctx).changes).toEqual([]);
          expect(state.members()).toEqual(before);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("replaying the changes reproduces the effective call (joined adds, left removes, updated needs presence)", () => {
    fc.assert(
      fc.property(eventStreamArb, (events) => {
        const state = new RoomCallState(ROOM, { roomVersion: "12" });
        const replay = new Map<string, string>();
        for (const event of events) {
          for (const change of state.apply(event, ctx).changes) {
            const key = change.member.key;
            if (change.kind === "joined") {
              expect(replay.has(key)).toBe(false);
              replay.set(key, change.member.source.eventId);
            } else if (change.kind === "updated") {
              expect(replay.has(key)).toBe(true);
              replay.set(key, change.member.source.eventId);
            } else {
              expect(replay.has(key)).toBe(true);
              replay.delete(key);
            }
          }
          const actual = new Map(state.members().map((m) => [m.key, m.source.eventId]));
          expect(actual).toEqual(replay);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("the oldest member of a call found in place (remembered between events) is the one found in the list", () => {
    const formatSets: readonly ReadonlySet<MembershipFormat>[] = [
      new Set<MembershipFormat>(["session", "rtc-state", "sticky", "rtc-latest"]),
      new Set<MembershipFormat>(["legacy-array"]),
    ];
    fc.assert(
      fc.property(eventStreamArb, fc.integer({ min: 1, max: 4 }), (events, askEvery) => {
        const state = new RoomCallState(ROOM, { roomVersion: "12" });
        const askAll = (): void => {
          const effective = state.members();
          for (const formats of formatSets)
            for (const member of state.allSlotMembers())
              expect(state.oldestInCall(member, formats)).toBe(oldestMemberOf(member, effective, formats));
        };
        events.forEach((event, i) => {
          state.apply(event, ctx);
          // Asking after only some events leaves the remembered answers to follow several changes on their own.
          if (i % askEvery === 0) askAll();
        });
        state.expireSticky(T0 + 10 * 3_600_000);
        askAll();
        // A resync to an earlier state replaces the members the remembered answers pointed at.
        state.loadState(events.slice(0, events.length >> 1), ctx);
        askAll();
      }),
      { numRuns: 400 },
    );
  });

  test("loadState of the state's own events converges: the effective call equals incremental application", () => {
    fc.assert(
      fc.property(eventStreamArb, (events) => {
        const incremental = new RoomCallState(ROOM, { roomVersion: "12" });
        for (const event of events) incremental.apply(event, ctx);
        const resynced = new RoomCallState(ROOM, { roomVersion: "12" });
        const changes = resynced.loadState(events, ctx);
        const keys = (s: RoomCallState): string[] =>
          s
            .members()
            .map((m) => m.key)
            .sort();
        expect(keys(resynced)).toEqual(keys(incremental));
        expect(changes.every((c) => c.kind === "joined")).toBe(true);
        expect(resynced.loadState(events, ctx)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
