// Clearer concurrency: one clear per member at a time, a bound on clears at once, no second start from sweeps.
import { ALICE, BOB, sessionJoin } from "../domain/builders";
import { flush, Harness } from "./harness";

const delayedLookups = (h: Harness): string[] =>
  h.matrix.calls.flatMap((c) => (c.method === "delayedEvents" ? [c.userId] : []));

describe("Clearer concurrency", () => {
  test("one clear at a time per member, and at most `concurrency` at once", async () => {
    const h = new Harness({ concurrency: 1 });
    h.feed(
      ...h.room({ users: [ALICE, BOB] }),
      sessionJoin({ user: ALICE, device: "DEVA", expires: 1_000 }),
      sessionJoin({ user: BOB, device: "DEVB", expires: 1_000 }),
    );
    h.clock.advance(61_000);
    const release = h.matrix.pause("putState");
    const first = h.clearer.clear(h.judged(ALICE, "DEVA"));
    const second = h.clearer.clear(h.judged(BOB, "DEVB"));
    expect(await h.clearer.clear(h.judged(ALICE, "DEVA"))).toEqual({
      result: "skipped",
      method: null,
      detail: "already being cleared",
    });
    await flush();
    expect(h.clearer.isBusy(h.member(ALICE, "DEVA").key)).toBe(true);
    expect(delayedLookups(h)).toEqual([ALICE]);
    release();
    expect((await first).result).toBe("cleared");
    expect((await second).result).toBe("cleared");
    expect(h.matrix.writes()).toHaveLength(2);
  });

  test("sweeps while a clear is in flight do not start another one", async () => {
    const h = new Harness();
    const release = h.matrix.pause("putState");
    await h.deliver(
      ...h.room({ users: [ALICE] }),
      sessionJoin({ user: ALICE, device: "DEVA", expires: 1_000 }),
    );
    h.clock.advance(2_000);
    await flush();
    expect(h.matrix.calls.filter((c) => c.method === "putState")).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      h.reconciler.sweep();
      await flush();
    }
    release();
    await h.settle();
    expect(h.matrix.writes()).toHaveLength(1);
    expect(delayedLookups(h)).toEqual([ALICE, ALICE]);
    expect(h.audit().filter((r) => r.action !== "verdict")).toMatchObject([{ action: "clear" }]);
  });
});
