// Benchmark of the domain core: parse + apply + verdict (+ sessions) per event over a generated corpus.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { MemberChange } from "../../src/domain/membership/changes";
import { RoomCallState } from "../../src/domain/membership/room-state";
import { SessionTracker } from "../../src/domain/sessions/tracker";
import { SfuPresenceTracker, type SfuView } from "../../src/domain/sfu/presence";
import { sfuTargetFor } from "../../src/domain/sfu/mapping";
import { DEFAULT_VERDICT_POLICY, judgeMember } from "../../src/domain/verdict";
import { CorpusGenerator, type Chunk } from "./corpus";
import { floorRun } from "./floor";
import { GcRecorder, type GcShare } from "./gc-share";
import { bench } from "./report";

const ROOMS = Number(process.env.BENCH_ROOMS ?? 50_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
/** Events are generated (untimed) in small batches right before they are processed (timed), as they would arrive. */
const CHUNK = 200;
/** The SFU view counts as stale without a successful poll for this long. */
const STALE_AFTER_MS = 120_000;
/** Gone LiveKit participants are forgotten after this long (pruned every PRUNE_EVERY events). */
const SID_RETENTION_MS = 600_000;
const PRUNE_EVERY = 100_000;

/** A forced GC: the global one under --expose-gc, else one obtained at run time; null if neither works. */
function findGc(): (() => void) | null {
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === "function") return global;
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    return typeof gc === "function" ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

const NONE: SfuView = { kind: "none" };

interface Counts {
  /** Time spent in the session tracker, kept out of the headline figure (the brief's figure is parse + apply + verdicts). */
  sessionsMs: number;
  changes: number;
  verdicts: number;
  ghosts: number;
  alive: number;
  unknown: number;
  sessionEvents: number;
}

/** What the app keeps beside the domain state: SFU evidence and sessions. */
class Harness {
  readonly presence: SfuPresenceTracker;
  readonly sessions = new SessionTracker();
  readonly counts: Counts = {
    sessionsMs: 0,
    changes: 0,
    verdicts: 0,
    ghosts: 0,
    alive: 0,
    unknown: 0,
    sessionEvents: 0,
  };

  constructor(startAt: number) {
    this.presence = new SfuPresenceTracker(startAt);
  }

  onChange(room: RoomCallState, change: MemberChange, now: number): void {
    const counts = this.counts;
    counts.changes++;
    const s0 = performance.now();
    counts.sessionEvents += this.sessions.apply(change).length;
    counts.sessionsMs += performance.now() - s0;
    const member = change.member;
    if (change.kind === "left") return;
    const target = sfuTargetFor(member, room);
    const sfu =
      target === null ? NONE : this.presence.viewOf(target.rooms, target.identities, now, STALE_AFTER_MS);
    const verdict = judgeMember(member, {
      now,
      userJoined: room.isJoined(member.userId),
      sfu,
      firstSeenAt: member.createdTs,
      policy: DEFAULT_VERDICT_POLICY,
    });
    counts.verdicts++;
    if (verdict.kind === "ghost") counts.ghosts++;
    else if (verdict.kind === "alive") counts.alive++;
    else counts.unknown++;
  }
}

interface RunResult {
  readonly rooms: readonly RoomCallState[];
  readonly harness: Harness;
  readonly processed: number;
  readonly elapsedMs: number;
  readonly generationMs: number;
  readonly byFamily: Readonly<Record<string, number>>;
  readonly activeRooms: number;
  readonly touchedRooms: number;
  readonly membershipEvents: number;
  /** The GC pauses of the run, told apart by whether they fell in its timed part. */
  readonly gcPauses: GcRecorder;
}

/** What feeding the corpus took: events, the timed processing and the untimed generation, in ms. */
interface Feeding {
  readonly processed: number;
  readonly elapsedMs: number;
  readonly generationMs: number;
}

/**
 * Feeds EVENTS events of `generator` chunk by chunk, as they would arrive: `prepare` runs untimed with the chunk's
 * generation, then `processChunk` runs timed (it gets how many events came before the chunk), and `onWindow` hears each
 * timed window.
 */
function feedCorpus(
  generator: CorpusGenerator,
  prepare: (chunk: Chunk) => void,
  processChunk: (chunk: Chunk, before: number) => void,
  onWindow: (t0: number, t1: number) => void = () => undefined,
): Feeding {
  let elapsedMs = 0;
  let generationMs = 0;
  let processed = 0;
  while (processed < EVENTS) {
    const g0 = performance.now();
    const chunk = generator.chunk(Math.min(CHUNK, EVENTS - processed));
    prepare(chunk);
    const t0 = performance.now();
    generationMs += t0 - g0;
    processChunk(chunk, processed);
    const t1 = performance.now();
    onWindow(t0, t1);
    elapsedMs += t1 - t0;
    processed += chunk.events.length;
  }
  return { processed, elapsedMs, generationMs };
}

/**
 * Generates and processes the corpus chunk by chunk. Only the processing is timed: applying each event to its
 * room, then per change the session tracker and (for joins and updates) SFU target, SFU view and verdict;
 * plus the periodic sweep (sticky expiry, presence pruning). Returns the state the run built.
 */
function run(): RunResult {
  const generator = new CorpusGenerator(ROOMS);
  const rooms = generator.rooms.map((r) => new RoomCallState(r.roomId, { roomVersion: "12" }));
  const harness = new Harness(generator.startAt);
  const gcPauses = new GcRecorder();
  let membershipEvents = 0;
  const prepare = ({ signals }: Chunk): void => {
    for (const signal of signals) harness.presence.apply(signal);
    harness.presence.apply({ kind: "poll-ok", at: generator.nowAt });
  };
  const processChunk = ({ events, roomOf, receivedAt }: Chunk, before: number): void => {
    for (let i = 0; i < events.length; i++) {
      const room = rooms[roomOf[i] as number] as RoomCallState;
      const now = receivedAt[i] as number;
      const outcome = room.apply(events[i], { receivedAt: now });
      if (outcome.parse.kind === "slot" || outcome.parse.kind === "invalid") membershipEvents++;
      for (const change of outcome.changes) harness.onChange(room, change, now);
    }
    if (Math.floor((before + events.length) / PRUNE_EVERY) > Math.floor(before / PRUNE_EVERY)) {
      // The periodic sweep: lapsed sticky memberships leave, old LiveKit participants are forgotten.
      const now = generator.nowAt;
      for (const room of rooms)
        for (const change of room.expireSticky(now)) harness.onChange(room, change, now);
      harness.presence.prune(now, SID_RETENTION_MS);
    }
  };
  const { processed, elapsedMs, generationMs } = feedCorpus(generator, prepare, processChunk, (t0, t1) => {
    gcPauses.window(t0, t1);
  });
  const byFamily = { ...generator.byFamily };
  return {
    rooms,
    harness,
    processed,
    elapsedMs,
    generationMs,
    byFamily,
    activeRooms: generator.activeRooms,
    touchedRooms: generator.touchedRooms,
    membershipEvents,
    gcPauses,
  };
}

/**
 * The same corpus through parsing and applying alone: no sessions, SFU target, presence, verdict or sweep. Beside
 * `bench:floor`'s figure without SFU, it tells the room state's share from the SFU side's. Returns events/s.
 */
function applyOnlyRun(): number {
  const generator = new CorpusGenerator(ROOMS);
  const rooms = generator.rooms.map((r) => new RoomCallState(r.roomId, { roomVersion: "12" }));
  const { processed, elapsedMs } = feedCorpus(
    generator,
    () => undefined,
    ({ events, roomOf, receivedAt }) => {
      for (let i = 0; i < events.length; i++) {
        const room = rooms[roomOf[i] as number] as RoomCallState;
        room.apply(events[i], { receivedAt: receivedAt[i] as number });
      }
    },
  );
  return Math.round(processed / (elapsedMs / 1000));
}

/** What the report needs from the harness, read without keeping references to its parts. */
function harnessFigures(harness: Harness): { counts: Counts; sessions: number; sids: number } {
  return {
    counts: { ...harness.counts },
    sessions: harness.sessions.openCount,
    sids: harness.presence.size,
  };
}

function heapMb(gc: (() => void) | null): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

interface Measured {
  readonly run: Omit<RunResult, "harness">;
  readonly figures: ReturnType<typeof harnessFigures>;
  readonly totalMb: number;
}

/** Runs the benchmark and measures the heap with everything it built still referenced (from this frame only). */
function measureRun(gc: (() => void) | null): Measured {
  const { harness, ...rest } = run();
  // The heap with everything the run built: rooms (all members), sessions, SFU presence.
  const totalMb = heapMb(gc);
  return { run: rest, figures: harnessFigures(harness), totalMb };
}

async function main(): Promise<void> {
  const gc = findGc();
  // The floor first, on a heap as clean as the model's run gets: the least work this corpus takes in this process.
  const floor = floorRun(true).perS;
  gc?.();
  const { run: result, figures, totalMb } = measureRun(gc);
  // The heap with the room call states alone: the harness (sessions, presence, names) died with measureRun's frame.
  const roomsMb = heapMb(gc);
  // Node reports GC pauses from the event loop: give it a turn before reading them.
  await new Promise((resolve) => setImmediate(resolve));
  const pauses: GcShare = result.gcPauses.finish();
  const { rooms, processed, elapsedMs, generationMs, byFamily, activeRooms, touchedRooms, membershipEvents } =
    result;
  const counts = figures.counts;
  let members = 0;
  let effective = 0;
  for (const room of rooms) {
    members += room.allSlotMembers().length;
    effective += room.memberCount;
  }
  const coreMs = elapsedMs - counts.sessionsMs;
  const modelPerS = Math.round(processed / (coreMs / 1000));
  bench("model_events_per_s", modelPerS, "events/s");
  bench("floor_events_per_s", floor, "events/s");
  bench("model_ratio_to_floor", modelPerS / floor, "ratio");
  bench("model_heap_mb", totalMb, "MB");
  bench("model_heap_rooms_only_mb", roomsMb, "MB");
  bench("model_events", processed, "events");
  bench("model_rooms", rooms.length, "rooms");
  bench("model_membership_events", membershipEvents, "events");
  bench("model_rooms_touched", touchedRooms, "rooms");
  bench("model_rooms_with_call", activeRooms, "rooms");
  bench("model_elapsed_ms", coreMs, "ms");
  bench("model_with_sessions_events_per_s", Math.round(processed / (elapsedMs / 1000)), "events/s");
  bench("model_sessions_ms", counts.sessionsMs, "ms");
  bench("model_corpus_generation_ms", generationMs, "ms");
  bench("model_changes", counts.changes, "changes");
  bench("model_verdicts", counts.verdicts, "verdicts");
  bench("model_verdict_ghosts", counts.ghosts, "verdicts");
  bench("model_verdict_alive", counts.alive, "verdicts");
  bench("model_verdict_unknown", counts.unknown, "verdicts");
  bench("model_session_events", counts.sessionEvents, "events");
  bench("model_members_retained", members, "members");
  bench("model_members_effective", effective, "members");
  bench("model_heap_bytes_per_member", Math.round((totalMb * 1024 * 1024) / Math.max(members, 1)), "B");
  bench("model_open_user_sessions", figures.sessions, "sessions");
  bench("model_sfu_sids", figures.sids, "sids");
  bench("model_heap_forced_gc", gc === null ? 0 : 1, "bool");
  bench("model_gc_pause_ms", pauses.totalMs, "ms");
  bench("model_gc_pause_in_timed_ms", pauses.inWindowsMs, "ms");
  for (const [family, n] of Object.entries(byFamily)) bench(`model_rooms_${family}`, n, "rooms");
  // Last, so that it does not warm up the code of the headline run.
  bench("model_without_sfu_events_per_s", applyOnlyRun(), "events/s");
}

void main();
