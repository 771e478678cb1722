// Bytes per tracked member: the heap the app holds per call membership, and which part holds how much. Importable
// (`measureMemberBytes` over a running service's app) and runnable: `node --expose-gc dist/scripts/bench/memory.js`.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { SqliteStore } from "../../src/adapters/sqlite/store";
import type { Logger } from "../../src/app/ports/logger";
import { type MatrixPort, MatrixRequestError } from "../../src/app/ports/matrix";
import type { Metrics } from "../../src/app/ports/metrics";
import { ServerClockOffset } from "../../src/app/server-clock";
import { CallState } from "../../src/app/state/call-state";
import { RoomCallState } from "../../src/domain/membership/room-state";
import { type App, buildApp } from "../../src/main/wiring";
import { harnessConfig } from "../../test/unit/app/app-ring";
import { FakeClock, ManualScheduler } from "../../test/unit/app/fakes/clock";
import { FakeLiveKit } from "../../test/unit/app/fakes/livekit";
import { bench } from "./report";

/** A forced full GC: the global one under --expose-gc, else one obtained at run time. */
function forcedGc(): () => void {
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === "function") return global;
  setFlagsFromString("--expose-gc");
  const gc: unknown = runInNewContext("gc");
  if (typeof gc !== "function") throw new Error("no way to force a GC: run node with --expose-gc");
  return gc as () => void;
}

/** Heap in use once everything unreachable has been collected. */
export function settledHeapBytes(): number {
  const gc = forcedGc();
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Resident memory once V8 has given back the heap it does not need: after a burst V8 keeps a young generation
 * grown for the rate (up to 128 MiB here) and old-space pages it emptied; the collection it runs under memory
 * pressure ("last resort") returns them. Needs node --expose-gc (the options form of `gc`).
 */
export function releasedRssBytes(): number {
  const gc = (globalThis as { gc?: (options?: Record<string, string>) => void }).gc;
  if (typeof gc !== "function") throw new Error("run node with --expose-gc");
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
  return process.memoryUsage().rss;
}

/** A call membership as Element Call writes it (js-sdk session state, format C): one device of one user. */
export function memberEvent(
  i: number,
  rooms: number,
  now: number,
  domain = "example.org",
): Record<string, unknown> {
  const user = `@u${i}:${domain}`;
  const device = `DEV${i % 7}`;
  return {
    event_id: `$member${i}:${domain}`,
    type: "org.matrix.msc3401.call.member",
    room_id: `!room${i % rooms}:${domain}`,
    sender: user,
    state_key: `_${user}_${device}_m.call`,
    origin_server_ts: now,
    content: {
      application: "m.call",
      call_id: "",
      scope: "m.room",
      device_id: device,
      expires: 14_400_000,
      membershipID: `${user}:${device}`,
      focus_active: { type: "livekit", focus_selection: "oldest_membership" },
      foci_preferred: [{ type: "livekit", livekit_service_url: `https://rtc.${domain}/livekit/jwt` }],
    },
    unsigned: { age: 12 },
  };
}

/** Heap per tracked member. */
export interface MemberBytes {
  readonly members: number;
  readonly bytesPerMember: number;
}

const trackedMembers = (state: App["state"]) =>
  [...state.allRooms()].reduce((n, room) => n + room.allSlotMembers().length, 0);

/**
 * Measures the heap `app` holds per member: `track` makes it track more members (e.g. transactions through the
 * listener) and resolves once they are processed and judged. Heap is read after full GCs, before and after, so
 * call it where nothing else grows meanwhile.
 */
export async function measureMemberBytes(
  app: Pick<App, "state">,
  track: () => Promise<void>,
): Promise<MemberBytes> {
  const before = settledHeapBytes();
  const membersBefore = trackedMembers(app.state);
  await track();
  const after = settledHeapBytes();
  const members = trackedMembers(app.state) - membersBefore;
  return { members, bytesPerMember: members === 0 ? 0 : (after - before) / members };
}

/** Per member: the room call states alone (members, their slots and sources, each room's own fields). */
export function modelBytesPerMember(members: number, rooms: number, now: number): number {
  const before = settledHeapBytes();
  const states = new Map<string, RoomCallState>();
  for (let i = 0; i < members; i++) {
    const event = memberEvent(i, rooms, now);
    const roomId = String(event.room_id);
    let room = states.get(roomId);
    if (room === undefined) states.set(roomId, (room = new RoomCallState(roomId, { roomVersion: "10" })));
    room.apply(event, { receivedAt: now });
  }
  const after = settledHeapBytes();
  if (trackedOf(states.values()) !== members) throw new Error("members went missing");
  return (after - before) / members;
}

/** Per member: the call state (room call states, open sessions, first-seen instants, room rows), no judging. */
export function callStateBytesPerMember(members: number, rooms: number, now: number): number {
  const store = SqliteStore.open(":memory:").store;
  const state = new CallState({ store, botUserId: "@rtc-bot:example.org" });
  const before = settledHeapBytes();
  for (let i = 0; i < members; i += 100)
    store.transaction(() => {
      for (let k = i; k < Math.min(i + 100, members); k++) {
        const event = memberEvent(k, rooms, now);
        state.apply(event, String(event.room_id), now);
      }
      state.flush();
    });
  const after = settledHeapBytes();
  if (trackedMembers(state) !== members) throw new Error("members went missing");
  store.close();
  return (after - before) / members;
}

function trackedOf(rooms: Iterable<RoomCallState>): number {
  let n = 0;
  for (const room of rooms) n += room.allSlotMembers().length;
  return n;
}

const quiet: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => quiet,
};

/** A homeserver that lets the bot read nothing (as for rooms it is not in), and remembers no request. */
const refusing: MatrixPort = (() => {
  const no = () => Promise.reject(new MatrixRequestError("not in the room", 403, "M_FORBIDDEN"));
  return {
    botUserId: "@rtc-bot:example.org",
    roomState: no,
    stateEvent: no,
    putState: no,
    sendEvent: no,
    delayedEvents: () => Promise.resolve(null),
    delayedEventAction: no,
    joinedRooms: () => Promise.resolve([]),
    resolveAlias: () => Promise.resolve(null),
    join: no,
    leave: no,
    sendNotice: no,
  };
})();

const uncounted: Metrics = {
  matrixEvent: () => undefined,
  invalidMembership: () => undefined,
  webhook: () => undefined,
  livekitApiError: () => undefined,
  verdict: () => undefined,
  ghostCleared: () => undefined,
  clearFailed: () => undefined,
  cannotClear: () => undefined,
  falsePositive: () => undefined,
  reconnectAfterClear: () => undefined,
  setTracked: () => undefined,
  command: () => undefined,
};

async function main(): Promise<void> {
  const members = Number(process.env.BENCH_MEMBERS ?? 100_000);
  const rooms = Number(process.env.BENCH_ROOMS ?? 50_000);
  const now = Date.now();
  const model = modelBytesPerMember(members, rooms, now);
  const callState = callStateBytesPerMember(members, rooms, now);

  const clock = new FakeClock(now);
  const store = SqliteStore.open(":memory:").store;
  const app = buildApp({
    config: harnessConfig(),
    store,
    matrix: refusing,
    livekit: new FakeLiveKit(),
    clock,
    scheduler: new ManualScheduler(clock),
    logger: quiet,
    metrics: uncounted,
    isLocalUser: (userId) => userId.endsWith(":example.org"),
    serverClock: new ServerClockOffset(quiet),
  });
  const all = await measureMemberBytes(app, async () => {
    // As the listener does: one database transaction per homeserver transaction of 100 events, then the drain
    // (which judges the rooms touched).
    for (let i = 0; i < members; i += 100) {
      store.transaction(() => {
        for (let k = i; k < Math.min(i + 100, members); k++) app.intake.accept(memberEvent(k, rooms, now));
      });
      app.intake.drain();
    }
    await app.resync.settled();
  });
  bench("member_bytes", all.bytesPerMember, "B");
  bench("member_bytes_model", model, "B");
  bench("member_bytes_sessions_and_rows", callState - model, "B");
  bench("member_bytes_judging", all.bytesPerMember - callState, "B");
  bench("member_event_json_bytes", JSON.stringify(memberEvent(0, rooms, now)).length, "B");
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
