// RoomAccessCache: a read that an invalidation overtook is neither used as current nor kept for the TTL.
import type { Actor, StateEventSnapshot } from "../../../src/app/ports/matrix";
import { RoomAccessCache } from "../../../src/app/reconcile/room-access";
import { ALICE, ROOM, roomCreate, roomMember, T0 } from "../domain/builders";
import { BOT, flush, powerLevels } from "./app-ring";
import { FakeClock } from "./fakes/clock";
import { FakeMatrix } from "./fakes/matrix";

const MOD = "@mod:example.org";

/** A homeserver whose answers to power level reads leave at once but arrive only when `deliver` is called. */
class SlowPowerLevels extends FakeMatrix {
  private readonly held: (() => void)[] = [];

  override async stateEvent(
    roomId: string,
    type: string,
    stateKey: string,
    as: Actor,
  ): Promise<StateEventSnapshot | null> {
    const answer = await super.stateEvent(roomId, type, stateKey, as);
    if (type === "m.room.power_levels") await new Promise<void>((resolve) => this.held.push(resolve));
    return answer;
  }

  /** Lets the held answers arrive; true when there were any. */
  deliver(): boolean {
    const held = this.held.splice(0);
    for (const resolve of held) resolve();
    return held.length > 0;
  }
}

function setup(): { matrix: SlowPowerLevels; cache: RoomAccessCache } {
  const matrix = new SlowPowerLevels(BOT, new FakeClock(T0));
  for (const e of [
    roomCreate("12"),
    roomMember(BOT, "join"),
    roomMember(MOD, "join"),
    powerLevels({ [MOD]: 50 }),
  ])
    matrix.hold(e);
  return { matrix, cache: new RoomAccessCache(matrix) };
}

/** Delivers held answers until the read settles. */
async function settle<T>(matrix: SlowPowerLevels, reading: Promise<T>): Promise<T> {
  const state = { done: false };
  void reading.then(() => {
    state.done = true;
  });
  for (let i = 0; i < 10 && !state.done; i++) {
    await flush();
    matrix.deliver();
  }
  return reading;
}

describe("RoomAccessCache", () => {
  test("power levels changed while they were being read: read again, and the new levels are what is kept", async () => {
    const { matrix, cache } = setup();
    const reading = cache.get(ROOM, "12", T0);
    await flush();
    // The answer (Mod at 50) is on its way when Mod is demoted and the intake invalidates the room.
    matrix.hold(powerLevels({ [MOD]: 0 }));
    cache.invalidate(ROOM);
    const first = await settle(matrix, reading);
    expect(cache.levelOf(first, MOD)).toBe(0);
    const later = await settle(matrix, cache.get(ROOM, "12", T0 + 1_000));
    expect(cache.levelOf(later, MOD)).toBe(0);
  });

  test("without a change, one read serves until the TTL", async () => {
    const { matrix, cache } = setup();
    await settle(matrix, cache.get(ROOM, "12", T0));
    const reads = matrix.calls.length;
    await cache.get(ROOM, "12", T0 + 29_000);
    expect(matrix.calls).toHaveLength(reads);
    expect(cache.levelOf(await settle(matrix, cache.get(ROOM, "12", T0 + 30_000)), ALICE)).toBe("creator");
    expect(matrix.calls.length).toBeGreaterThan(reads);
  });
});
