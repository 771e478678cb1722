// LivekitRooms: which Matrix rooms a LiveKit room's webhook touches, kept to current members, in small arrays.
import type { Judged } from "../../../src/app/reconcile/judge";
import { LivekitRooms } from "../../../src/app/reconcile/livekit-rooms";

/** Judgements whose members are looked for in these LiveKit rooms (one member per list; null: not on our SFU). */
function judged(...rooms: (readonly string[] | null)[]): Judged[] {
  return rooms.map((r) => ({ target: r === null ? null : { rooms: r } }) as unknown as Judged);
}

describe("LivekitRooms", () => {
  test("maps each LiveKit room name to the Matrix rooms whose members use it, and follows changes", () => {
    const map = new LivekitRooms();
    map.update("!a", judged(["lk1", "alias"], ["lk1"]));
    map.update("!b", judged(["lk1"], null));
    expect(map.roomsOf("lk1")).toEqual(["!a", "!b"]);
    expect(map.roomsOf("alias")).toEqual(["!a"]);
    expect(map.size).toBe(2);

    map.update("!a", judged(["lk2"]));
    expect(map.roomsOf("lk1")).toEqual(["!b"]);
    expect(map.roomsOf("alias")).toEqual([]);
    expect(map.roomsOf("lk2")).toEqual(["!a"]);

    map.update("!b", []);
    map.update("!a", judged(null));
    expect(map.roomsOf("lk1")).toEqual([]);
    expect(map.roomsOf("lk2")).toEqual([]);
    expect(map.size).toBe(0);
  });

  test("keeps plain arrays, not a Set per room (a Set costs about 200 bytes with one entry)", () => {
    const map = new LivekitRooms();
    map.update("!a", judged(["lk1"]));
    expect(Array.isArray(map.roomsOf("lk1"))).toBe(true);
    expect(Array.isArray(map.roomsOf("unknown"))).toBe(true);
  });

  test("judging a room again to the same names changes nothing", () => {
    const map = new LivekitRooms();
    map.update("!a", judged(["lk1", "lk2"]));
    map.update("!a", judged(["lk2"], ["lk1"]));
    expect(map.roomsOf("lk1")).toEqual(["!a"]);
    expect(map.roomsOf("lk2")).toEqual(["!a"]);
    expect(map.size).toBe(2);
  });
});
