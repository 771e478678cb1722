// Background checkpoints: a worker copies the write-ahead log into the database file; stopped, it leaves the log to
// close. While it holds the write lock, the journal's frequent writers wait on later turns, not on the event loop.
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { BACKSTOP_PAGES, checkpointInBackground } from "../../src/adapters/sqlite/checkpointer";
import { BUSY_TIMEOUT_MS } from "../../src/adapters/sqlite/database";
import { SqliteStore } from "../../src/adapters/sqlite/store";
import { systemClock } from "../../src/adapters/system/clock";
import { MatrixIntake } from "../../src/app/intake/matrix-intake";
import type { InboxEntry } from "../../src/app/ports/store";
import { RecordingLogger, RecordingMetrics } from "../unit/app/fakes/recorders";

const dir = mkdtempSync(join(tmpdir(), "rtc-checkpoint-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The write-ahead log's checkpoint sequence number (its header's fourth word): it counts the log's restarts. */
function walHeaderSeq(path: string): number {
  const header = Buffer.alloc(16);
  const fd = openSync(`${path}-wal`, "r");
  readSync(fd, header, 0, 16, 0);
  closeSync(fd);
  return header.readUInt32BE(12);
}

const sleep = (ms: number) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

test("a worker copies committed pages into the database file; once stopped, closing removes the log", async () => {
  const path = join(dir, "state.db");
  const { store } = SqliteStore.open(path);
  const errors: unknown[] = [];
  const stop = checkpointInBackground(store.db, path, (err) => errors.push(err));
  // The service's own connection checkpoints only as a backstop.
  expect(store.db.pragma("wal_autocheckpoint", { simple: true })).toBe(BACKSTOP_PAGES);
  const before = statSync(path).size;
  store.transaction(() => {
    for (let i = 0; i < 500; i++)
      store.appendInbox(
        `$e${i}`,
        "!r:x",
        i,
        JSON.stringify({ event_id: `$e${i}`, padding: "x".repeat(500) }),
      );
  });
  // Committed, so in the log; the database file grows only when the worker checkpoints.
  for (let waited = 0; statSync(path).size === before && waited < 10_000; waited += 50) await sleep(50);
  expect(statSync(path).size).toBeGreaterThan(before);
  await stop();
  store.close();
  expect(existsSync(`${path}-wal`)).toBe(false);
  expect(errors).toEqual([]);
  // Everything committed is there.
  const reopened = SqliteStore.open(path).store;
  expect(reopened.pendingInbox(1000)).toHaveLength(500);
  reopened.close();
});

test("under writes that never pause, the worker keeps starting the log over; idle after, it leaves it be", async () => {
  const path = join(dir, "restart.db");
  const { store } = SqliteStore.open(path);
  const errors: unknown[] = [];
  const restartPages = 50;
  let reported = 0;
  const stop = checkpointInBackground(store.db, path, (err) => errors.push(err), {
    restartPages,
    onRestart: () => reported++,
  });
  // A page or two per transaction, one transaction a millisecond for 1.5 s: thousands of pages, with gaps too
  // short for a checkpoint to catch up on its own.
  let n = 0;
  store.appendInbox("$first", "!r:x", 0, "{}");
  const firstSeq = walHeaderSeq(path);
  for (const until = performance.now() + 1_500; performance.now() < until; await sleep(1)) {
    // Not written while the worker holds the lock: the next round tries again.
    store.tryTransaction(() => {
      for (let i = 0; i < 2; i++, n++)
        store.appendInbox(`$w${n}`, "!r:x", n, JSON.stringify("x".repeat(2_000)));
    });
  }
  const walPages = statSync(`${path}-wal`).size / 4_096;
  const restarts = walHeaderSeq(path) - firstSeq;
  // Nothing written any more: one more restart may come for the log as the writes left it, then none, since the
  // log stays as it is until the next write starts it over.
  await sleep(300);
  const reportedWhenIdle = reported;
  await sleep(600);
  const reportedAfter = reported;
  await stop();
  store.close();
  expect(errors).toEqual([]);
  // Several restarts (each counted in the log's header: none without them), and a log file that stays short (it
  // keeps its longest length): about 600 pages here, 6,800 without restarts.
  expect(restarts).toBeGreaterThanOrEqual(3);
  expect(reportedWhenIdle).toBeGreaterThanOrEqual(restarts);
  expect(walPages).toBeLessThan(80 * restartPages);
  expect(reportedAfter).toBe(reportedWhenIdle);
  const reopened = SqliteStore.open(path).store;
  expect(reopened.pendingInbox(100_000)).toHaveLength(n + 1);
  reopened.close();
});

/** The POSIX locks this process holds on the file at `path` (Linux's /proc/locks, by inode). */
function locksHeld(path: string): number {
  const inode = `:${String(statSync(path).ino)} `;
  return readFileSync("/proc/locks", "utf8")
    .split("\n")
    .filter((line) => line.includes(` ${String(process.pid)} `) && line.includes(inode)).length;
}

test("stopping the worker leaves the service's own locks on the database file", async () => {
  const path = join(dir, "locks.db");
  const { store } = SqliteStore.open(path);
  const stop = checkpointInBackground(store.db, path, () => undefined, { restartPages: 1 });
  store.transaction(() => {
    for (let i = 0; i < 50; i++) store.appendInbox(`$l${i}`, "!r:x", i, JSON.stringify("x".repeat(2_000)));
  });
  await sleep(300);
  const before = locksHeld(path);
  await stop();
  // Between here and the store's close, another process must still find the database in use: a descriptor of the
  // file closed by this process would have dropped the locks of every connection of it.
  const after = locksHeld(path);
  store.close();
  expect(before).toBeGreaterThan(0);
  expect(after).toBe(before);
});

describe("while another connection holds the write lock (the checkpointer restarting the log)", () => {
  /** A second connection to `path` holding the write lock until `release` is called. */
  function holdWriteLock(path: string): { release: () => void } {
    const other = new Database(path);
    other.prepare("BEGIN IMMEDIATE").run();
    return {
      release: () => {
        other.prepare("COMMIT").run();
        other.close();
      },
    };
  }

  test("tryTransaction runs nothing and says so at once, then runs once the lock is free", () => {
    const path = join(dir, "locked.db");
    const { store } = SqliteStore.open(path);
    const lock = holdWriteLock(path);
    let ran = 0;
    const started = performance.now();
    expect(store.tryTransaction(() => ran++)).toBe(false);
    // No wait for the lock (the blocking path waits up to BUSY_TIMEOUT_MS).
    expect(performance.now() - started).toBeLessThan(BUSY_TIMEOUT_MS / 10);
    expect(ran).toBe(0);
    lock.release();
    expect(store.tryTransaction(() => store.appendInbox("$a", "!r:x", 1, "{}"))).toBe(true);
    expect(store.pendingInbox(10).map((e) => e.eventId)).toEqual(["$a"]);
    store.close();
  });

  test("a reader that stays on old pages does not keep the writers out: the restart gives up and backs off", async () => {
    const path = join(dir, "reader.db");
    const { store } = SqliteStore.open(path);
    const stop = checkpointInBackground(store.db, path, () => undefined, { restartPages: 50 });
    // A reader (an operator's sqlite3 shell) holding a snapshot, then enough writes to want a restart.
    const reader = new Database(path, { readonly: true });
    reader.prepare("BEGIN").run();
    reader.prepare("SELECT COUNT(*) FROM inbox").get();
    store.transaction(() => {
      for (let i = 0; i < 300; i++) store.appendInbox(`$r${i}`, "!r:x", i, "x".repeat(2_000));
    });
    // For 1.5 s, how long the write lock stays out of reach at a stretch.
    let longest = 0;
    let outSince: number | null = null;
    for (const until = performance.now() + 1_500; performance.now() < until; await sleep(5)) {
      const free = store.tryTransaction(() => undefined);
      const now = performance.now();
      if (free) outSince = null;
      else longest = Math.max(longest, now - (outSince ??= now));
    }
    expect(longest).toBeLessThan(500);
    reader.prepare("COMMIT").run();
    reader.close();
    await stop();
    store.close();
  });

  test("the scheduled drain waits on later turns, leaving the event loop free, and processes everything after", async () => {
    const path = join(dir, "drain.db");
    const { store } = SqliteStore.open(path);
    const seen: string[] = [];
    const intake = new MatrixIntake({
      store,
      clock: systemClock,
      logger: new RecordingLogger(),
      metrics: new RecordingMetrics(),
      handler: {
        handle: (entry: InboxEntry) => seen.push(entry.eventId),
        flush: () => undefined,
        afterBatch: () => undefined,
      },
    });
    store.transaction(() => {
      for (let i = 0; i < 5; i++)
        intake.accept({ event_id: `$e${i}`, room_id: "!r:x", type: "m.room.member", content: {} });
    });
    const lock = holdWriteLock(path);
    const settled = intake.settled();
    // Timers still run while the lock is held: the drain did not block waiting for it.
    await sleep(50);
    expect(seen).toEqual([]);
    lock.release();
    await settled;
    expect(seen).toEqual(["$e0", "$e1", "$e2", "$e3", "$e4"]);
    expect(store.pendingInbox(10)).toEqual([]);
    store.close();
  });
});
