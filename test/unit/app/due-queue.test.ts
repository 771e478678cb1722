// DueQueue and DueRooms: one instant per key, earliest first; one timer for the earliest room, capped to Node's limit.
import fc from "fast-check";
import { DueQueue } from "../../../src/domain/due-queue";
import { DueRooms, MAX_TIMER_MS } from "../../../src/app/reconcile/due-rooms";
import { T0 } from "../domain/builders";
import { FakeClock, ManualScheduler } from "./fakes/clock";

describe("DueQueue", () => {
  test("takes the keys due at an instant, earliest first, at most `limit` at a time", () => {
    const q = new DueQueue();
    q.set("c", 30);
    q.set("a", 10);
    q.set("b", 20);
    q.set("d", 40);
    expect(q.earliest()).toBe(10);
    expect(q.take(25, 1)).toEqual(["a"]);
    expect(q.take(25, 10)).toEqual(["b"]);
    expect(q.take(25, 10)).toEqual([]);
    expect(q.size).toBe(2);
    expect(q.take(100, 10)).toEqual(["c", "d"]);
    expect(q.earliest()).toBeNull();
  });

  test("a key holds one instant: set moves it either way, setEarlier only earlier, delete drops it", () => {
    const q = new DueQueue();
    q.set("a", 10);
    q.set("b", 20);
    q.set("a", 30);
    expect(q.earliest()).toBe(20);
    expect(q.size).toBe(2);
    q.setEarlier("a", 50);
    expect(q.dueAt("a")).toBe(30);
    q.setEarlier("a", 5);
    expect(q.dueAt("a")).toBe(5);
    q.delete("a");
    q.delete("never queued");
    expect(q.dueAt("a")).toBeNull();
    expect(q.take(100, 10)).toEqual(["b"]);
  });

  test("refuses an instant that is not a number it can order", () => {
    const q = new DueQueue();
    expect(() => {
      q.set("a", Number.NaN);
    }).toThrow(RangeError);
    expect(q.size).toBe(0);
  });

  test("agrees with a plain map under any sequence of set, setEarlier, delete and take", () => {
    const key = fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h");
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key, at: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant("earlier" as const), key, at: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant("delete" as const), key }),
      fc.record({
        kind: fc.constant("take" as const),
        now: fc.integer({ min: 0, max: 100 }),
        limit: fc.integer({ min: 1, max: 4 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const q = new DueQueue();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === "set") {
            q.set(o.key, o.at);
            model.set(o.key, o.at);
          } else if (o.kind === "earlier") {
            q.setEarlier(o.key, o.at);
            model.set(o.key, Math.min(model.get(o.key) ?? Infinity, o.at));
          } else if (o.kind === "delete") {
            q.delete(o.key);
            model.delete(o.key);
          } else {
            const taken = q.take(o.now, o.limit);
            const due = [...model].filter(([, at]) => at <= o.now).map(([, at]) => at);
            expect(taken).toHaveLength(Math.min(o.limit, due.length));
            // Earliest first: nothing left due is earlier than what was taken.
            const takenAts = taken.map((k) => model.get(k) as number);
            expect(takenAts).toEqual([...takenAts].sort((a, b) => a - b));
            for (const k of taken) model.delete(k);
            const left = [...model.values()].filter((at) => at <= o.now);
            if (left.length > 0) expect(Math.min(...left)).toBeGreaterThanOrEqual(Math.max(...takenAts));
          }
          expect(q.size).toBe(model.size);
          expect(q.earliest()).toBe(model.size === 0 ? null : Math.min(...model.values()));
          for (const [k, at] of model) expect(q.dueAt(k)).toBe(at);
        }
      }),
    );
  });
});

describe("DueRooms", () => {
  function rooms() {
    const clock = new FakeClock(T0);
    const scheduler = new ManualScheduler(clock);
    const woken: number[] = [];
    const due = new DueRooms({
      scheduler,
      clock,
      onDue: () => {
        woken.push(clock.now());
        due.take(10);
      },
    });
    return { clock, scheduler, due, woken };
  }

  test("one timer, for the earliest room, however many rooms are queued", () => {
    const { clock, scheduler, due, woken } = rooms();
    for (let i = 0; i < 100; i++) due.set(`!r${i}`, T0 + 60_000 + i * 1_000);
    due.set("!early", T0 + 5_000);
    expect(scheduler.armed()).toEqual([T0 + 5_000]);
    due.set("!early", null);
    expect(scheduler.armed()).toEqual([T0 + 60_000]);
    clock.advance(61_500);
    expect(woken).toEqual([T0 + 60_000, T0 + 61_000]);
    expect(due.size).toBe(98);
    expect(scheduler.armed()).toEqual([T0 + 62_000]);
  });

  test("a room due beyond what a Node.js timer can wait is woken at that bound and waits again", () => {
    const { clock, scheduler, due, woken } = rooms();
    const farAway = T0 + 1_000 * 365 * 86_400_000;
    due.set("!far", farAway);
    expect(scheduler.armed()).toEqual([T0 + MAX_TIMER_MS]);
    clock.advance(MAX_TIMER_MS);
    expect(woken).toEqual([T0 + MAX_TIMER_MS]);
    expect(due.dueAt("!far")).toBe(farAway);
    expect(scheduler.armed()).toEqual([T0 + 2 * MAX_TIMER_MS]);
  });

  test("stop cancels the timer and arms no other", () => {
    const { scheduler, due } = rooms();
    due.set("!a", T0 + 1_000);
    due.stop();
    due.set("!b", T0 + 500);
    expect(scheduler.armed()).toEqual([]);
  });
});
