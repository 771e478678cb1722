// The fakes themselves: the manual scheduler runs due timers at their own instant, in order, once.
import { ALICE, ROOM, roomMember, T0 } from "../domain/builders";
import { FakeClock, ManualScheduler } from "./fakes/clock";
import { FakeMatrix } from "./fakes/matrix";

describe("FakeClock + ManualScheduler", () => {
  test("advance runs each due timer once, in due order, with the clock at its due instant", () => {
    const clock = new FakeClock(T0);
    const scheduler = new ManualScheduler(clock);
    const ran: string[] = [];
    scheduler.after(300, () => ran.push(`c@${clock.now() - T0}`));
    scheduler.after(100, () => {
      ran.push(`a@${clock.now() - T0}`);
      scheduler.after(50, () => ran.push(`b@${clock.now() - T0}`));
    });
    const cancel = scheduler.after(200, () => ran.push("cancelled"));
    cancel();
    clock.advance(250);
    expect(ran).toEqual(["a@100", "b@150"]);
    expect(clock.now()).toBe(T0 + 250);
    expect(scheduler.armed()).toEqual([T0 + 300]);
    clock.advance(1_000);
    expect(ran).toEqual(["a@100", "b@150", "c@300"]);
    expect(scheduler.armed()).toEqual([]);
  });
});

describe("FakeMatrix", () => {
  test("reads and writes need the actor to be joined; writes are echoed", async () => {
    const clock = new FakeClock(T0);
    const matrix = new FakeMatrix("@bot:example.org", clock);
    await expect(matrix.roomState(ROOM, { kind: "bot" })).rejects.toMatchObject({ status: 403 });
    matrix.hold(roomMember(ALICE, "join"));
    await matrix.putState(ROOM, "x.y", "", { a: 1 }, { kind: "user", userId: ALICE });
    expect(matrix.takeOutbox()).toMatchObject([
      { type: "x.y", sender: ALICE, state_key: "", content: { a: 1 } },
    ]);
    expect((await matrix.stateEvent(ROOM, "x.y", "", { kind: "user", userId: ALICE }))?.content).toEqual({
      a: 1,
    });
  });
});
