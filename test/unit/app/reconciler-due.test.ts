// Reconciler: rooms are judged when touched or due (one timer for all), every room only in a sliced full re-check.
import { SqliteStore } from "../../../src/adapters/sqlite/store";
import type { AuditEntry } from "../../../src/app/ports/store";
import { MAX_TIMER_MS } from "../../../src/app/reconcile/due-rooms";
import { ROOMS_PER_SLICE } from "../../../src/app/reconcile/reconciler";
import { ALICE, type ClientEvent, livekitFocus, ROOM, roomMember, sessionJoin, T0 } from "../domain/builders";
import { CAROL, DEPLOYMENT, Harness, identityOf, LK_ROOM } from "./harness";

const OTHER_SFU = [livekitFocus("https://elsewhere.example.net/jwt")];

/** A room of its own with Alice in a call on an SFU we hold no keys for (judged by expiry only). */
function callIn(roomId: string, expires = 14_400_000): ClientEvent[] {
  return [
    roomMember(ALICE, "join", { roomId }),
    sessionJoin({ user: ALICE, device: "DEVA", roomId, expires, foci: OTHER_SFU }),
  ];
}

const roomIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `!r${i}:example.org`);

describe("Reconciler: one queue of due rooms", () => {
  test("one timer is armed, for the earliest room, whatever the number of rooms", async () => {
    const h = new Harness();
    await h.deliver(...callIn("!a:example.org", 90_000), ...callIn("!b:example.org", 30_000));
    await h.deliver(...callIn("!c:example.org", 60_000));
    expect(h.scheduler.armed()).toEqual([T0 + 30_000 + 50]);
    expect(h.reconciler.dueAt("!c:example.org")).toBe(T0 + 60_000 + 50);
    await h.advance(30_100);
    expect(h.matrix.writes()).toHaveLength(1);
    expect(h.scheduler.armed()).toHaveLength(1);
    expect(h.scheduler.armed()[0]).toBe(T0 + 60_000 + 50);
  });

  test("a sweep judges only rooms touched or due: a view a poll changed waits for the full re-check", async () => {
    const h = new Harness();
    await h.deliver(...h.room({ users: [ALICE] }), sessionJoin({ user: ALICE, device: "DEVA" }));
    await h.connect(ALICE, "DEVA", "PA_1");
    await h.advance(61_000);
    await h.poll();
    expect(h.judge.lastLabel(ROOM, h.member(ALICE, "DEVA").key)).toBe("alive:connected");
    // LiveKit loses the participant and says nothing: only a poll learns it.
    h.livekit.disconnect(DEPLOYMENT, LK_ROOM, identityOf(ALICE, "DEVA"));
    await h.sfu.pollAll();
    expect(h.reconciler.sweep()).toBe(0);
    expect(h.judge.lastLabel(ROOM, h.member(ALICE, "DEVA").key)).toBe("alive:connected");
    await h.reconciler.recheckAll();
    expect(h.judge.lastLabel(ROOM, h.member(ALICE, "DEVA").key)).toBe("alive:within-grace");
  });

  test("a sweep with nothing due over many rooms judges none of them", async () => {
    const h = new Harness();
    await h.deliver(...roomIds(300).flatMap((id) => callIn(id)));
    await h.advance(1_000);
    expect(h.reconciler.sweep()).toBe(0);
  });

  test("a ghost that could not be cleared is tried again when its retry is due, with no sweep", async () => {
    const h = new Harness();
    await h.deliver(
      ...h.room({ users: [ALICE, CAROL], botLevel: 10 }),
      sessionJoin({ user: CAROL, device: "DEVC", foci: OTHER_SFU }),
      roomMember(CAROL, "leave"),
    );
    expect(h.audit("cannot_clear")).toHaveLength(1);
    await h.advance(29_000);
    expect(h.audit("cannot_clear")).toHaveLength(1);
    await h.advance(1_100);
    expect(h.audit("cannot_clear")).toHaveLength(2);
  });

  test("a clear that crashed (its audit row could not be written) is tried again after the retry wait", async () => {
    /** The database refuses the first `cannot_clear` row, as a full disk would. */
    class RefusingStore extends SqliteStore {
      refused = 0;
      override audit(e: AuditEntry): number {
        if (e.action === "cannot_clear" && this.refused++ === 0) throw new Error("SQLITE_FULL");
        return super.audit(e);
      }
    }
    const store = new RefusingStore(SqliteStore.open(":memory:").store.db);
    const h = new Harness({ store });
    await h.deliver(
      ...h.room({ users: [ALICE, CAROL], botLevel: 10 }),
      sessionJoin({ user: CAROL, device: "DEVC", foci: OTHER_SFU }),
      roomMember(CAROL, "leave"),
    );
    expect(h.logger.find("clear crashed", "error")).toHaveLength(1);
    expect(h.audit("cannot_clear")).toEqual([]);
    await h.advance(30_100);
    expect(h.audit("cannot_clear")).toHaveLength(1);
  });

  test("a membership claiming to expire centuries ahead arms no timer beyond what Node.js can wait", async () => {
    const h = new Harness();
    await h.deliver(...callIn("!far:example.org", 1_000_000_000_000_000));
    expect(h.scheduler.armed()).toEqual([T0 + MAX_TIMER_MS]);
    await h.advance(MAX_TIMER_MS);
    expect(h.matrix.writes()).toEqual([]);
    expect(h.scheduler.armed()).toEqual([T0 + 2 * MAX_TIMER_MS]);
  });
});

describe("Reconciler: work in slices", () => {
  /** Rooms put into the call state behind the reconciler's back (as after a restart), none judged yet. */
  function untouched(n: number): { h: Harness; ids: string[] } {
    const h = new Harness();
    const ids = roomIds(n);
    h.feed(...ids.flatMap((id) => callIn(id)));
    return { h, ids };
  }
  /** Rooms judged so far: each then waits for its membership's expiry (a room still to judge is due now, or not queued). */
  const judged = (h: Harness, ids: readonly string[]) =>
    ids.filter((id) => (h.reconciler.dueAt(id) ?? 0) > h.clock.now()).length;

  test("the full re-check judges a slice of rooms per turn of the event loop", async () => {
    const { h, ids } = untouched(ROOMS_PER_SLICE * 2 + 1);
    const afterTurns: number[] = [];
    const watch = (turns: number): void => {
      setImmediate(() => {
        afterTurns.push(judged(h, ids));
        if (turns > 1) watch(turns - 1);
      });
    };
    watch(3);
    await h.reconciler.recheckAll();
    expect(afterTurns[0]).toBe(ROOMS_PER_SLICE);
    expect(afterTurns[0]).toBeLessThan(ids.length);
    expect(judged(h, ids)).toBe(ids.length);
  });

  test("rooms touched beyond a slice are judged on the next turns, not all at once", async () => {
    const { h, ids } = untouched(ROOMS_PER_SLICE + 3);
    for (const roomId of ids)
      h.reconciler.onApplied({ roomId, parse: { kind: "test" }, changes: [], sessions: [] });
    expect(h.reconciler.flush()).toBe(ROOMS_PER_SLICE);
    expect(judged(h, ids)).toBe(ROOMS_PER_SLICE);
    expect(h.scheduler.armed()[0]).toBe(T0);
    await h.advance(0);
    expect(judged(h, ids)).toBe(ids.length);
  });

  test("a membership arriving while a re-check runs keeps its participant from being reported an orphan", async () => {
    const h = new Harness();
    // ROOM first: the re-check's first slice judges it before Alice's membership arrives.
    h.feed(...h.room({ users: [ALICE] }), ...roomIds(ROOMS_PER_SLICE).flatMap((id) => callIn(id)));
    h.livekit.connect(DEPLOYMENT, LK_ROOM, identityOf(ALICE, "DEVA"), "PA_1");
    await h.sfu.pollAll();
    h.clock.advance(121_000);
    await h.sfu.pollAll();
    const recheck = h.reconciler.recheckAll();
    await h.deliver(sessionJoin({ user: ALICE, device: "DEVA", ts: h.clock.now() }));
    await recheck;
    await h.settle();
    expect(h.audit("orphan_participant")).toEqual([]);
  });
});
